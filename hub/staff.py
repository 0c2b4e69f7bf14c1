"""A teacher's account as the users file has it: their rooms and a one-time enrolment link.

Provisioning writes these (``roomcast provision staff import``, ``staff link``); the hub
only reads them. An enrolment link is a random token the office prints as a QR code; the
file holds only its SHA-256 and when it expires, and the hub's record says whether it was
used (it opens one phone's session, once).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from transport.settings import ConfigError, Settings

_ROOM = re.compile(r"^[a-z0-9_-]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


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
    if not isinstance(name, str) or len(name) > 200:
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


__all__ = ["ConfigError", "Staff", "link_digest", "staff_record"]
