"""The console's second factor, shared by provisioning (enrols) and the hub (checks). Pure:
codes and digests only, no files, no clock of its own.

TOTP is RFC 6238 through ``pyotp``: SHA-1, 6 digits, 30-second steps, the parameters every
authenticator app assumes. Recovery codes are 80 random bits each, stored as a SHA-256
digest: with that much entropy a fast hash is as safe as scrypt (2^80 guesses), and a login
that tries ten stored codes stays instant instead of costing ten scrypt runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyotp

from protocol.accounts import Role

STEP_S = 30
DIGITS = 6
SKEW_STEPS = 1
"""A code from the step before or after is accepted: phones and hubs drift a little."""
RECOVERY_CODES = 10
_RECOVERY_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
_RECOVERY_LEN = 16  # 31**16 > 2**79
_MIN_SECRET_BYTES = 16
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
ALWAYS_REQUIRED = Role.ADMIN


@dataclass(frozen=True)
class Enrolment:
    """One user's second factor: the TOTP secret and the digests of the recovery codes."""

    secret: str
    recovery: frozenset[str]


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length), as apps expect it."""
    return pyotp.random_base32(32)


def valid_secret(secret: Any) -> bool:
    if not isinstance(secret, str):
        return False
    try:
        raw = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= _MIN_SECRET_BYTES


def valid_digest(value: Any) -> bool:
    return isinstance(value, str) and _DIGEST.match(value) is not None


def otpauth_uri(secret: str, user: str, site: str) -> str:
    """What an authenticator app scans: ``otpauth://totp/Roomcast <site>:<user>?...``."""
    return pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name=f"Roomcast {site}")


def time_step(at: float) -> int:
    return int(at // STEP_S)


def code_at(secret: str, step: int) -> str:
    """The TOTP code of ``step`` (RFC 6238's counter T)."""
    return pyotp.TOTP(secret).generate_otp(step)


def current_code(secret: str, at: float) -> str:
    return code_at(secret, time_step(at))


def matching_step(secret: str, code: str, at: float) -> int | None:
    """The time step, within the skew window, whose code is ``code``; None if none is.

    Every candidate is compared (in constant time), so timing says nothing about which.
    """
    now = time_step(at)
    found = None
    for step in range(now - SKEW_STEPS, now + SKEW_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    return found


def looks_like_totp(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes like ``k7pm-2xq4-hh9c-tn3w``: typeable from paper, 80 bits each."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_CHARS) for _ in range(_RECOVERY_LEN))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LEN, 4)))
    return codes


def normalise_recovery(code: str) -> str:
    """What a person types, with spaces, hyphens and capitals as they come."""
    return "".join(c for c in code.lower() if c not in " -\t")


def recovery_digest(user: str, code: str) -> str:
    """The stored form of a recovery code; the user name binds it to one account."""
    data = f"roomcast-recovery-v1\0{user}\0{normalise_recovery(code)}".encode()
    return hashlib.sha256(data).hexdigest()


def recovery_digests(user: str, codes: Iterable[str]) -> list[str]:
    return sorted(recovery_digest(user, code) for code in codes)


def required_roles(value: Any) -> frozenset[Role]:
    """The roles that must log in with a second factor, from a site setting.

    Raises ValueError with what is wrong: not a list, an unknown role, or no ``admin``
    (the people who can lock a school down always need a second factor).
    """
    if not isinstance(value, list):
        raise ValueError(f"must be a list of roles, not {type(value).__name__}")
    roles = set()
    for item in value:
        try:
            roles.add(Role(item))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"{item!r} is not a role; choose from {known}") from None
    if ALWAYS_REQUIRED not in roles:
        raise ValueError(f'must include "{ALWAYS_REQUIRED.value}": admins always need one')
    return frozenset(roles)
