"""Console users' roles and password hashes, shared by provisioning (writes) and the hub
(verifies). Pure: hashing only, no files.

Hashes use scrypt (memory-hard, in the standard library) with a random salt per user;
verification compares in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_N = 2**20  # refuse absurd work factors from a tampered file
_MAXMEM = 128 * 1024 * 1024
_DKLEN = 32


CONSOLE_LANGUAGES = ("en", "es")
"""A user's ``language`` in the users file: the console's and the teacher's page's words."""


class Role(StrEnum):
    """What a console user may do; the hub enforces it, provisioning only records it."""

    ADMIN = "admin"
    OFFICE = "office"
    RESPONDER = "responder"
    VIEWER = "viewer"
    TEACHER = "teacher"
    """Bound to one or more rooms: only the teacher's page, for those rooms (hub.teacher)."""


USER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")
"""A user name: 1-64 of a-z, 0-9, '_', '.', '@', '-', starting with a letter or digit."""
LINK_DAYS = 14.0
"""How long a printed one-time enrolment link (a teacher's phone) works if nobody scans it."""


def enrolment_link(days: float = LINK_DAYS) -> tuple[str, dict[str, Any]]:
    """A new one-time link: the token (shown once, as a QR code) and what the users file
    keeps of it (its SHA-256 and when it expires)."""
    token = secrets.token_urlsafe(24)
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return token, {"digest": digest, "expires_at": time.time() + days * 86400}


class BadHash(ValueError):
    """A stored hash that is malformed or asks for absurd work (a tampered users file)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_DKLEN
    )


def hash_password(password: str) -> dict[str, Any]:
    """The stored form of a password: parameters, salt and derived key."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt), "hash": _b64(key)}


DUMMY_HASH: Mapping[str, Any] = {
    "n": SCRYPT_N,
    "r": SCRYPT_R,
    "p": SCRYPT_P,
    "salt": _b64(bytes(16)),
    "hash": "",
}
"""Checked against for unknown names, so timing does not reveal which names exist."""


def check_password(stored: Mapping[str, Any], password: str) -> bool:
    """Constant-time comparison of ``password`` against a stored hash."""
    try:
        n, r, p = int(stored["n"]), int(stored["r"]), int(stored["p"])
        salt, expected = base64.b64decode(stored["salt"]), base64.b64decode(stored["hash"])
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise BadHash(f"stored password hash is malformed ({error})") from None
    if not (1 < n <= _MAX_N and 0 < r <= 32 and 0 < p <= 16):
        raise BadHash(f"scrypt parameters n={n} r={r} p={p} are out of range")
    key = _scrypt(password, salt, n, r, p)
    return hmac.compare_digest(key, expected)
