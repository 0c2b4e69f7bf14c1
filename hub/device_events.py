"""Events from devices (panic, staff reports, cancellations, faults), recorded exactly once.

A device's event reaches here after the hub's intake checked its topic, budget and
encoding. What is left needs the record: a duplicate (a resend after a lost receipt) is
receipted again but not recorded twice, and a cancel withdraws only the device's own panic.
A new staff report or headcount then goes to the roll (:mod:`hub.roll`), which checks it
on its own: a refused roll never loses the event (a NEEDS HELP still reaches the board).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hub.bus import Bus, Change
from hub.presence import Presence
from hub.rejections import Rejections
from hub.roll import RollCall
from hub.store import HubStore
from protocol.messages import Event, EventKind

log = logging.getLogger(__name__)


class DeviceEvents:
    def __init__(
        self,
        *,
        presence: Presence,
        store: HubStore,
        bus: Bus,
        rejected: Rejections,
        clock: Callable[[], float],
        roll: RollCall,
    ) -> None:
        self._presence, self._store, self._bus = presence, store, bus
        self._rejected, self._now, self._roll = rejected, clock, roll

    def on_event(self, device_id: str, event: Event) -> bool | None:
        """Record an event once: True when new, False for a duplicate (still receipted),
        None when refused (not receipted: a real node would send it again)."""
        record = self._presence.known_device(device_id)
        if record is None:
            return None
        if event.cancels is not None and not self._own_panic(device_id, event.cancels):
            return None
        now = self._now()
        record.last_seen = now
        if not self._store.add_event(event, room=record.room, received_at=now):
            # A resend after a lost receipt: harmless, receipted again, counted.
            self._rejected.count("duplicate event")
            return False
        if event.kind is EventKind.PANIC:
            log.critical("PANIC ALERT in room %s (device %s)", record.room, device_id)
        self._bus.publish(
            Change.EVENT,
            room=record.room,
            event_id=event.event_id,
            event=event.kind.value,
            created_at=event.created_at,
            received_at=now,
        )
        self._roll.on_event(device_id, record.room, event)
        return True

    def _own_panic(self, device_id: str, event_id: str) -> bool:
        """A cancel withdraws only a panic its own device raised (and already sent)."""
        owner = self._store.event_owner(event_id)
        if owner == (device_id, EventKind.PANIC.value):
            return True
        why = "no such panic yet" if owner is None else "not its own panic"
        self._rejected.record("cancel refused", f"{device_id} cancels {event_id}: {why}")
        return False
