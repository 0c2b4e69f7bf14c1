"""The teacher's page, on the hub's side: a room's directive, its roll, and a panic press.

A teacher reaches only the rooms their account binds them to (:class:`hub.staff.Staff`),
checked here on every call, whatever the page sent. A press from the page is a panic like
a button's: it goes into the same ``events`` table as ``kind = "panic"`` (so the alert
strip, the sound, the board, the CAP feed and the relay's hand-offs treat it as the real
panic it is), with ``device_id = "page:<user>"`` naming where it came from and who. Its
id is made from the user and an id the page chose for the press, so a POST retried after
a lost answer is the same event, recorded once (as a device's resend is). A cancel is
taken only from the same user, within the site's cancel window (the hub's clock).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from hub.auth import Principal
from hub.bus import Bus, Change
from hub.engine import Engine
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.roll import latest_per_room
from hub.store import HubStore
from hub.store_people import PAGE_SOURCE
from protocol.inventory import Room
from protocol.messages import MessageError, Roll
from protocol.srp import is_idle
from protocol.wording import IDLE_TERM, IDLE_TEXT, directive_lines

log = logging.getLogger(__name__)

_PRESS_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def page_event_id(user: str, press_id: str, *, cancel: bool = False) -> str:
    """The event id of a press (or its cancel): the same for a retried POST, and never
    the same for two users (one cannot pre-empt another's press by guessing its id)."""
    digest = hashlib.sha256(f"{user}\0{press_id}".encode()).hexdigest()[:32]
    return f"{'pc' if cancel else 'pg'}-{digest}"


class TeacherDesk:
    def __init__(
        self,
        *,
        engine: Engine,
        store: HubStore,
        bus: Bus,
        clock: Callable[[], float],
        cancel_window_s: float,
    ) -> None:
        self._engine, self._store, self._bus, self._now = engine, store, bus, clock
        self.cancel_window_s = cancel_window_s

    def room(self, principal: Principal, room_id: str) -> Room:
        """The room if it is one of the teacher's and in the inventory; else refused."""
        if room_id not in principal.rooms:
            raise Forbidden(f"room {room_id} is not one of yours; ask the office")
        room = self._engine.presence.inventory.rooms.get(room_id)
        if room is None:
            raise NotFound(f"room {room_id} is not in the site's inventory; ask the office")
        return room

    def rooms(self, principal: Principal) -> list[Room]:
        rooms = self._engine.presence.inventory.rooms
        return [rooms[r] for r in sorted(principal.rooms) if r in rooms]

    def view(self, principal: Principal, room_id: str) -> dict[str, Any]:
        """What the page shows for a room, in the display's words."""
        room = self.room(principal, room_id)
        directives = self._engine.directives
        directive = directives.effective(room)
        now = self._now()
        shown: dict[str, Any] = {
            "term": IDLE_TERM,
            "lines": [IDLE_TEXT],
            "drill": False,
            "action": None,
            "seq": None,
            "roll_due": False,
        }
        roll = None
        if directive is not None:
            wording = directives.vocabulary[directive.action]
            shown = {
                "term": wording.term,
                "lines": list(directive_lines(directive, directives.vocabulary)),
                "drill": directive.drill,
                "action": directive.action.value,
                "seq": directive.seq,
                "roll_due": not is_idle(directive.action),
            }
            newest = latest_per_room(self._engine.roll.reports({directive.seq}))
            entry = newest.get((room.id, directive.seq))
            roll = None if entry is None else entry.as_dict()
        return {
            "room": room.id,
            "label": room.label,
            "building": room.building,
            "directive": shown,
            "roll": roll,
            "panics": self._own_panics(principal, room.id, now),
            "hub_time": now,
        }

    def _own_panics(self, principal: Principal, room_id: str, now: float) -> list[dict[str, Any]]:
        source = PAGE_SOURCE + principal.user
        return [
            {
                "event_id": row["event_id"],
                "at": row["received_at"],
                "cancel_until": row["received_at"] + self.cancel_window_s,
                "cancellable": now <= row["received_at"] + self.cancel_window_s,
            }
            for row in self._store.open_panics()
            if row["device_id"] == source and row["room"] == room_id
        ]

    def press(self, principal: Principal, room_id: str, press_id: Any) -> dict[str, Any]:
        """A panic from the page; the same ``press_id`` again is the same alert."""
        room = self.room(principal, room_id)
        if not isinstance(press_id, str) or not _PRESS_ID.match(press_id):
            raise Invalid('send {"press_id": "<8-64 letters, digits, - or _>"}')
        event_id = page_event_id(principal.user, press_id)
        now = self._now()
        new = self._store.add_page_event(
            event_id=event_id, user=principal.user, room=room.id, kind="panic", at=now, cancels=None
        )
        if new:
            log.critical("PANIC ALERT in room %s (teacher's page, %s)", room.id, principal.user)
            self._store.audit(
                at=now,
                user=principal.user,
                action="panic (teacher's page)",
                detail={"room": room.id, "event_id": event_id},
            )
            self._published(room.id, event_id, "panic", now)
        row = self._store.panic(event_id)
        at = now if row is None else float(row["received_at"])
        return {
            "event_id": event_id,
            "duplicate": not new,
            "at": at,
            "cancel_until": at + self.cancel_window_s,
        }

    def cancel(self, principal: Principal, room_id: str, event_id: Any) -> dict[str, Any]:
        """Withdraw the teacher's own panic while the cancel window lasts (a false alarm);
        the alert and its cancel both stay on record."""
        room = self.room(principal, room_id)
        row = self._store.panic(event_id) if isinstance(event_id, str) else None
        if (
            row is None
            or row["device_id"] != PAGE_SOURCE + principal.user
            or row["room"] != room.id
        ):
            raise NotFound("no such panic of yours in this room")
        now = self._now()
        if now > row["received_at"] + self.cancel_window_s:
            raise Conflict(
                f"the {self.cancel_window_s:g} s cancel window has passed: call the office"
            )
        cancel_id = "pc-" + event_id.removeprefix("pg-")
        new = self._store.add_page_event(
            event_id=cancel_id,
            user=principal.user,
            room=room.id,
            kind="cancel",
            at=now,
            cancels=event_id,
        )
        if new:
            log.warning("panic in room %s cancelled on the teacher's page", room.id)
            self._store.audit(
                at=now,
                user=principal.user,
                action="panic cancelled (teacher's page)",
                detail={"room": room.id, "event_id": event_id},
            )
            self._published(room.id, cancel_id, "cancel", now)
        return {"event_id": cancel_id, "cancels": event_id, "duplicate": not new}

    def report(self, principal: Principal, room_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The roll from the page (hub.roll checks the directive and the room)."""
        room = self.room(principal, room_id)
        seq = body.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise Invalid('send {"seq": <the directive shown>, "missing": N, ...}')
        counts = {name: _count(body, name) for name in ("missing", "extra", "injured")}
        try:
            roll = Roll(**counts, help=body.get("help") is True)
        except MessageError as problem:
            raise Invalid(str(problem)) from None
        entry = self._engine.roll.report(room.id, seq, roll, user=principal.user)
        return entry.as_dict()

    def _published(self, room_id: str, event_id: str, kind: str, at: float) -> None:
        self._bus.publish(
            Change.EVENT,
            room=room_id,
            event_id=event_id,
            event=kind,
            created_at=at,
            received_at=at,
        )


def _count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"{name} must be a whole number or left out")
    return value
