"""The console's changes to teachers' accounts in the users file (admins only).

Provisioning owns the users file (``roomcast provision staff import``); an admin may also
add a teacher or print a new one-time link from the console. Only teachers' records are
touched here: a new teacher, or a new link for one. The file is rewritten whole and
atomically (a temporary file, fsynced, then renamed), keeping its mode, so the hub's
reader (hub.auth.Users) sees the old file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.errors import Conflict, Invalid, NotFound
from protocol.accounts import USER_NAME, Role, enrolment_link, hash_password

MAX_NAME = 200


def read_users(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_users(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write((json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def add_teacher(
    path: Path, *, user: str, name: str, rooms: Collection[str], known_rooms: Collection[str]
) -> str:
    """Add a teacher with no password and a one-time link; returns the link's token."""
    user, name = user.strip().lower(), name.strip()
    if not USER_NAME.match(user):
        raise Invalid(
            "a user name is 1-64 characters of a-z, 0-9, '_', '.', '@' or '-' "
            "(an email address will do)"
        )
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"give the teacher's name (at most {MAX_NAME} characters)")
    unknown = sorted(set(rooms) - set(known_rooms))
    if not rooms or unknown:
        raise Invalid(f"choose the teacher's rooms from the inventory (unknown: {unknown})")
    data = read_users(path)
    if user in data["users"]:
        raise Conflict(f"{user} already has an account; choose another user name")
    token, link = enrolment_link()
    data["users"][user] = {
        "role": Role.TEACHER.value,
        "name": name,
        "rooms": sorted(set(rooms)),
        "scrypt": hash_password(secrets.token_urlsafe(32)),  # no password until one is set
        "link": link,
        "changed_at": datetime.now(UTC).isoformat(),
    }
    write_users(path, data)
    return token


def renew_link(path: Path, user: str) -> str:
    """A new one-time link for a teacher (a new phone); the older one stops working."""
    data = read_users(path)
    record = data["users"].get(user)
    if record is None or record.get("role") != Role.TEACHER.value:
        raise NotFound(f"no teacher {user!r}")
    token, link = enrolment_link()
    record |= {"link": link, "changed_at": datetime.now(UTC).isoformat()}
    write_users(path, data)
    return token
