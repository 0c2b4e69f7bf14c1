"""A confirmation page's seal: what the user read, proved when they press Send.

The page carries what it showed (district.preview ``Preview.shown``: the action, the
schools, each school's link, rooms, what is in force and the warnings) and when it was
made, with an HMAC over both. The send checks the HMAC (the page was made here, and says
what it said), that the page is at most :data:`MAX_AGE_S` old, and that a preview made
now shows the same; otherwise it is refused with plain lines saying what changed, and
the user reads the new page. The secret is made per process and kept only in memory: a
restart of the service makes every open confirmation page read again, nothing to store.

The request id is derived from the seal, so the same confirmation sent twice (a retry
after a lost answer, a double press) names the same request: the second send answers
with the first's record and never signs a second request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from district.preview import Preview

MAX_AGE_S = 120.0
"""How long a confirmation page may be sent after it was made."""
NOTICES_KEPT = 64
"""What-changed notices kept for the new page to show (bounded; each lives MAX_AGE_S)."""


@dataclass(frozen=True)
class Sealed:
    shown: dict[str, Any]
    """What the page showed, with ``made_at`` (the district's clock)."""
    token: str


@dataclass
class Confirmations:
    clock: Callable[[], float] = time.time
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _notices: dict[str, tuple[str, float, tuple[str, ...]]] = field(default_factory=dict)

    def seal(self, preview: Preview) -> Sealed:
        shown = preview.shown() | {"made_at": round(self.clock(), 3)}
        return Sealed(shown=shown, token=self._mac(shown))

    def genuine(self, shown: object, token: object) -> bool:
        """Whether ``shown`` is what a page of this process showed, unaltered."""
        if not isinstance(shown, dict) or not isinstance(token, str):
            return False
        if not isinstance(shown.get("made_at"), int | float):
            return False
        return hmac.compare_digest(self._mac(shown), token)

    def request_id(self, shown: dict[str, Any], token: str) -> str:
        """The one request id this confirmation may send (a topic level: 29 characters)."""
        digest = hmac.new(self._secret, b"request-id:" + token.encode(), hashlib.sha256)
        return f"r-{int(shown['made_at'])}-{digest.hexdigest()[:16]}"

    def changes(self, shown: dict[str, Any], now: Preview) -> list[str]:
        """What differs between the page read and a preview made now, in plain lines;
        [] when it may be sent."""
        age = self.clock() - float(shown["made_at"])
        lines = []
        if age > MAX_AGE_S:
            lines.append(
                f"the page is {age:.0f} s old (a confirmation holds for {MAX_AGE_S:.0f} s)"
            )
        current = now.shown()
        if shown["action"] != current["action"]:
            lines.append("the request itself is not the one the page showed")
        was = {s["site"]: s for s in shown["schools"]}
        is_ = {s["site"]: s for s in current["schools"]}
        if list(was) != list(is_):
            lines.append(
                f"the schools: the page named {', '.join(was) or 'none'}, now "
                f"{', '.join(is_) or 'none'} (a group changed?)"
            )
        for site in (s for s in is_ if s in was):
            lines += [f"{site}: {line}" for line in _school_changes(was[site], is_[site])]
        return lines

    def notice(self, user: str, lines: list[str]) -> str:
        """Keep what changed for the new page to show that ``user``; its key."""
        now = self.clock()
        for key, (_, at, _) in list(self._notices.items()):
            if now - at > MAX_AGE_S or len(self._notices) >= NOTICES_KEPT:
                del self._notices[key]
        key = secrets.token_urlsafe(12)
        self._notices[key] = (user, now, tuple(lines))
        return key

    def noticed(self, user: str, key: str) -> tuple[str, ...]:
        user_of, at, lines = self._notices.get(key, ("", 0.0, ()))
        return lines if user_of == user and self.clock() - at <= MAX_AGE_S else ()

    def _mac(self, shown: dict[str, Any]) -> str:
        text = json.dumps(shown, sort_keys=True, separators=(",", ":"))
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()


def _school_changes(was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    lines = []
    if was["link"] != now["link"]:
        lines.append(f"its link was {_link(was['link'])}, now {_link(now['link'])}")
    if was["rooms"] != now["rooms"]:
        lines.append(f"rooms were {_rooms(was['rooms'])}, now {_rooms(now['rooms'])}")
    if was["in_force"] != now["in_force"]:
        before = "; ".join(was["in_force"]) or "nothing"
        lines.append(f"in force was {before}, now {'; '.join(now['in_force']) or 'nothing'}")
    lines += [f"new warning: {w}" for w in now["warnings"] if w not in was["warnings"]]
    lines += [f"no longer warned: {w}" for w in was["warnings"] if w not in now["warnings"]]
    return lines


def _link(link: str) -> str:
    return "reachable" if link == "reachable" else f"UNREACHABLE ({link})"


def _rooms(rooms: int | None) -> str:
    return "unknown" if rooms is None else str(rooms)
