"""What devices tell the hub, believed only as far as it proves: status, acks and events.

A part of :class:`hub.campus.Campus` (its base class). A device's message reaches here only
after the service has checked its topic, its budget and its encoding; what is left to check
needs the campus's state: an ack counts only for a directive this hub issued to the
device's own room, a cancel withdraws only the device's own panic, a will that arrives after
the device reconnected is stale.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.bus import Bus, Change
from hub.clocks import SkewWatch
from hub.guard import LogThrottle
from hub.store import HubStore
from protocol.inventory import Inventory
from protocol.messages import Ack, DeviceStatus, Directive, Event, EventKind
from protocol.rules import covers

log = logging.getLogger(__name__)


@dataclass
class DeviceRecord:
    room: str
    online: bool = False
    session: int = -1
    firmware: str = ""
    faults: dict[str, str] = field(default_factory=dict)
    last_seen: float | None = None


class DeviceInput:
    devices: dict[str, DeviceRecord]
    inventory: Inventory
    bus: Bus
    rejected: Counter[str]
    _store: HubStore
    _now: Callable[[], float]
    _reject_log: LogThrottle
    _clocks: SkewWatch
    _recent: dict[int, Directive]
    _acks: dict[int, dict[str, float]]

    def reject(self, reason: str, detail: str) -> None:
        """Count and log a message that was refused; live views see the count change."""
        self.rejected[reason] += 1
        if self._reject_log.should_log(reason, self._now()):
            log.warning("rejected: %s: %s (%d so far)", reason, detail, self.rejected[reason])
        self.bus.publish(Change.REJECTED, reason=reason)

    def known_device(self, device_id: str) -> DeviceRecord | None:
        record = self.devices.get(device_id)
        if record is None:
            self.reject("unknown device", f"{device_id} is not in the site inventory")
        return record

    def on_status(self, device_id: str, status: DeviceStatus) -> None:
        record = self.known_device(device_id)
        if record is None:
            return
        if not status.online and status.session < record.session:
            # The device already reconnected; the broker delivered its old will late.
            self.reject("stale will", f"{device_id} session {status.session} < {record.session}")
            return
        record.online, record.session = status.online, status.session
        record.firmware, record.faults, record.last_seen = (
            status.firmware,
            status.faults | self._clocks.fault(device_id, status, now=self._now()),
            self._now(),
        )
        self._store.save_device(status, room=record.room, seen_at=record.last_seen)
        self.bus.publish(Change.DEVICE, device_id=device_id, room=record.room, online=status.online)

    def on_ack(self, device_id: str, ack: Ack) -> None:
        """An ack counts only for a directive this hub issued to the device's own room; an
        ack is unsigned, so it proves nothing else (it once moved the seq counter)."""
        record = self.known_device(device_id)
        if record is None:
            return
        directive = self._issued(ack.seq)
        if directive is None:
            self.reject("ack of no directive", f"{device_id} acked #{ack.seq}, never issued")
            return
        room = self.inventory.rooms.get(record.room)
        if room is None or not covers(directive, room):
            self.reject("ack outside its room", f"{device_id} acked #{ack.seq} for another room")
            return
        now = self._now()
        record.last_seen = now
        if self._store.add_ack(ack, room=record.room, received_at=now):
            self.acks(ack.seq)[device_id] = now  # loads acks stored before a restart first
            self.bus.publish(Change.ACK, device_id=device_id, room=record.room, seq=ack.seq)

    def on_event(self, device_id: str, event: Event) -> bool | None:
        """Record an event once: True when new, False for a duplicate (still receipted),
        None when refused (not receipted: a real node would send it again)."""
        record = self.known_device(device_id)
        if record is None:
            return None
        if event.cancels is not None and not self._own_panic(device_id, event.cancels):
            return None
        now = self._now()
        record.last_seen = now
        if not self._store.add_event(event, room=record.room, received_at=now):
            # A resend after a lost receipt: harmless, receipted again, counted.
            self.rejected["duplicate event"] += 1
            return False
        if event.kind is EventKind.PANIC:
            log.critical("PANIC ALERT in room %s (device %s)", record.room, device_id)
        self.bus.publish(
            Change.EVENT,
            room=record.room,
            event_id=event.event_id,
            event=event.kind.value,
            created_at=event.created_at,
            received_at=now,
        )
        return True

    def _own_panic(self, device_id: str, event_id: str) -> bool:
        """A cancel withdraws only a panic its own device raised (and already sent)."""
        owner = self._store.event_owner(event_id)
        if owner == (device_id, EventKind.PANIC.value):
            return True
        why = "no such panic yet" if owner is None else "not its own panic"
        self.reject("cancel refused", f"{device_id} cancels {event_id}: {why}")
        return False

    def _issued(self, seq: int) -> Directive | None:
        """The directive numbered ``seq``, if this hub issued (or adopted) it."""
        directive = self._recent.get(seq)
        if directive is None:
            directive = self._store.directive(seq) if seq > 0 else None
            if directive is not None:
                self._remember(directive)
        return directive

    def _remember(self, directive: Directive) -> None:
        """Keep the last few directives at hand: a fan-out brings one ack per display."""
        self._recent[directive.seq] = directive
        if len(self._recent) > 64:
            del self._recent[min(self._recent)]

    def acks(self, seq: int) -> dict[str, float]:
        if seq not in self._acks:
            self._acks[seq] = self._store.acks_for(seq)
        return self._acks[seq]
