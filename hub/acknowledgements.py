"""Acknowledgements: displays confirming a directive, the office acknowledging an alert,
and the report of who confirmed what, and how fast.

An ack is unsigned, so it proves only what the hub can check against its own record: it
counts for a directive this hub issued to the device's own room, and nothing else (it once
moved the seq counter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.bus import Bus, Change
from hub.directives import Directives
from hub.errors import NotFound
from hub.presence import Presence
from hub.rejections import Rejections
from hub.stats import summary
from hub.store import HubStore
from protocol.inventory import Room
from protocol.messages import Ack, Directive
from protocol.rules import covers

ACK_DUE_S = 10.0
"""NFPA 72 §10.11.1's 10 s: a display that has not confirmed the current directive after
this long is flagged, on the board and in the trouble list."""


class Acknowledgements:
    def __init__(
        self,
        *,
        presence: Presence,
        directives: Directives,
        store: HubStore,
        bus: Bus,
        rejected: Rejections,
        clock: Callable[[], float],
    ) -> None:
        self._presence, self._directives, self._store = presence, directives, store
        self._bus, self._rejected, self._now = bus, rejected, clock
        self._acks: dict[int, dict[str, float]] = {}

    def on_ack(self, device_id: str, ack: Ack) -> None:
        record = self._presence.known_device(device_id)
        if record is None:
            return
        directive = self._directives.issued(ack.seq)
        if directive is None:
            self._rejected.record(
                "ack of no directive", f"{device_id} acked #{ack.seq}, never issued"
            )
            return
        room = self._presence.inventory.rooms.get(record.room)
        if room is None or not covers(directive, room):
            self._rejected.record(
                "ack outside its room", f"{device_id} acked #{ack.seq} for another room"
            )
            return
        now = self._now()
        record.last_seen = now
        if self._store.add_ack(ack, room=record.room, received_at=now):
            self.of(ack.seq)[device_id] = now  # loads acks stored before a restart first
            self._bus.publish(Change.ACK, device_id=device_id, room=record.room, seq=ack.seq)

    def of(self, seq: int) -> dict[str, float]:
        """Device id -> when its ack of directive ``seq`` arrived (hub clock)."""
        if seq not in self._acks:
            self._acks[seq] = self._store.acks_for(seq)
        return self._acks[seq]

    def room_ack_ms(self, room: Room, directive: Directive) -> float | None:
        """When every display in the room had acked, in ms after issue; None if one has not."""
        devices = self._presence.inventory.devices_in(room.id)
        acks = self.of(directive.seq)
        if not devices or any(d not in acks for d in devices):
            return None
        return max(acks[d] - directive.issued_at for d in devices) * 1000

    def unconfirmed(self) -> list[str]:
        """Rooms whose displays have not all confirmed the directive in force in time."""
        now = self._now()
        return sorted(
            room.id
            for room in self._presence.inventory.rooms.values()
            if (directive := self._directives.effective(room)) is not None
            and now - directive.issued_at > ACK_DUE_S
            and self.room_ack_ms(room, directive) is None
        )

    def directive_report(self, directive: Directive) -> dict[str, Any]:
        """Acks of a directive from the rooms where it took effect. A room in scope that a
        higher directive held (a Hold sent while it was in Lockdown) is listed as held."""
        book = self._directives.effective_after(directive.seq)
        vocabulary = self._directives.vocabulary
        rooms, held = [], {}
        for room in self._directives.rooms_in(directive):
            shown = book.effective(room=room.id, building=room.building)
            if shown is not None and shown.seq != directive.seq:
                held[room.id] = f"{vocabulary[shown.action].term} #{shown.seq}"
            else:
                rooms.append(room)
        latencies = {r.id: self.room_ack_ms(r, directive) for r in rooms}
        measured = [ms for ms in latencies.values() if ms is not None]
        return self._directives.describe(directive) | {
            "total": len(rooms),
            "acked": len(measured),
            "ack_ms": summary(measured),
            "rooms": {room: None if ms is None else round(ms, 1) for room, ms in latencies.items()},
            "held": held,
        }

    def acknowledge_alert(self, event_id: str, *, user: str) -> None:
        """The office has seen a panic alert and is acting on it (who, recorded)."""
        if not self._store.acknowledge_event(event_id, user=user, at=self._now()):
            raise NotFound(f"no unacknowledged alert {event_id!r}")
        self._store.audit(
            at=self._now(), user=user, action="acknowledge alert", detail={"event_id": event_id}
        )
