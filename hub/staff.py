"""A teacher's account as the users file has it: their rooms and a one-time enrolment link.

Provisioning writes these (``roomcast provision staff import``, ``staff link``); the hub
only reads them, and keeps the teachers and links made in the console in its own state
directory (hub.console_edits). An enrolment link is a random token the office prints as a
QR code; the record holds only its SHA-256 and when it expires, and the hub's store says
whether it was used (it opens one phone's session, once).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from hub.errors import Invalid
from protocol.accounts import USER_NAME
from transport.settings import ConfigError, Settings

_ROOM = re.compile(r"^[a-z0-9_-]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
MAX_NAME = 200


@dataclass(frozen=True)
class Staff:
    rooms: frozenset[str]
    name: str = ""
    """The teacher's name as the staff list has it (shown on the page and to the office)."""
    link_digest: str = ""
    """SHA-256 (hex) of the one-time enrolment token; empty when none is pending."""
    link_expires_at: float = 0.0


def link_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def staff_record(settings: Settings, key: str, record: dict[str, Any]) -> Staff:
    """A teacher's rooms, name and link from ``users.<name>``; ConfigError names the key."""
    rooms = record.get("rooms", [])
    if not isinstance(rooms, list) or not all(isinstance(r, str) and _ROOM.match(r) for r in rooms):
        raise settings.fail(f"{key}.rooms", "must be a list of room ids")
    name = record.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise settings.fail(f"{key}.name", "must be text of at most 200 characters")
    link = record.get("link")
    if link is None:
        return Staff(rooms=frozenset(rooms), name=name)
    if not isinstance(link, dict):
        raise settings.fail(f"{key}.link", "must be an object")
    digest, expires = link.get("digest"), link.get("expires_at")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise settings.fail(f"{key}.link.digest", "must be a SHA-256 hex digest")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise settings.fail(f"{key}.link.expires_at", "must be a time (seconds)")
    return Staff(
        rooms=frozenset(rooms), name=name, link_digest=digest, link_expires_at=float(expires)
    )


def new_teacher(
    *, user: str, name: str, rooms: Collection[str], known: Collection[str]
) -> tuple[str, str, list[str]]:
    """A teacher the console adds, checked: (user name, name, rooms); Invalid says why."""
    user, name = user.strip().lower(), name.strip()
    if not USER_NAME.match(user):
        raise Invalid(
            "a user name is 1-64 characters of a-z, 0-9, '_', '.', '@' or '-' "
            "(an email address will do)"
        )
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"give the teacher's name (at most {MAX_NAME} characters)")
    unknown = sorted(set(rooms) - set(known))
    if not rooms or unknown:
        raise Invalid(f"choose the teacher's rooms from the inventory (unknown: {unknown})")
    return user, name, sorted(set(rooms))


__all__ = ["ConfigError", "Staff", "link_digest", "new_teacher", "staff_record"]
