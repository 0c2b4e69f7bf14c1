"""What one classroom device may make the hub do: a message budget, and the alarm when spent.

A node's certificate and key can be copied off its SD card in a minute, so every device is
treated as hostile until its messages prove otherwise. Each device has a token bucket,
checked before its message is even decoded: a real node sends a status every 20 s, an ack
per directive and the odd event, and after an outage resends its outbox at once, which the
burst allows. A device that spends its budget is *ignored* until it has been quiet for
:attr:`Limits.quiet_s`, and that is itself an alarm the office sees (:class:`Flood`), never
a reason to miss another room.

Panics are the one thing not to lose even from a flooding device (the room may be real
and in trouble): events from an ignored device are still decoded, and a panic among them
is read against a small bucket of its own. Anything else it sends is dropped without a
receipt, so a real node keeps it in its outbox and sends it again when the flood is over.

Ignoring still costs the hub a read of every message, on the one connection that carries
every other room too. A device that goes on flooding past :attr:`Limits.cut_off_after`
dropped messages is not a node catching up: the guard then asks for it to be cut off at
the broker (``on_cut_off``; hub.quarantine), the one measure that frees that connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Limits:
    burst: int = 300
    """Messages a device may send at once: a node back from an outage resends its outbox
    (events every 5 s, all of them) and its status and acks in one go."""
    per_second: float = 50.0
    """Sustained: far above a busy node (a status per 20 s, an ack per directive) and above
    ``make bench``'s device phase (directives to one room as fast as it acks them), far
    below a flood (a Pi sends thousands a second)."""
    quiet_s: float = 30.0
    """An ignored device is read again once it has sent nothing over budget this long."""
    panic_burst: int = 5
    panic_per_second: float = 0.1
    """Panics read from an ignored device: five at once, then one per 10 s."""
    cut_off_after: int = 1000
    """Messages dropped in one flood before the device is cut off at the broker: a node
    resending its whole outbox stays far below (it fits in the burst), while a flood flat
    out reaches it in well under a second and one at 1,000/s in about a second."""


@dataclass
class _Bucket:
    capacity: float
    rate: float
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Flood:
    """A device over its budget: what the office is told about it."""

    device_id: str
    room: str
    started: float
    last_excess: float
    until: float
    received: int = 0
    """Messages that arrived since the flood began, read or not."""
    dropped: int = 0
    panics_read: int = 0
    cut_off_until: float | None = None
    """Set once the device has been cut off at the broker (hub.quarantine), and until when;
    the office is then told of the cut-off, which outlasts the flood, rather than of it."""

    def describe(self) -> str:
        seconds = max(1.0, self.last_excess - self.started)
        until = time.strftime("%H:%M:%S", time.localtime(self.until))
        return (
            f"{self.device_id} (room {self.room}) sent {self.received:,} messages in "
            f"{seconds:.0f} s; it is being ignored until {until} "
            f"({self.dropped:,} dropped). A panic from room {self.room} is still read."
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.describe(),
            "device_id": self.device_id,
            "room": self.room,
            "started": self.started,
            "until": self.until,
            "received": self.received,
            "dropped": self.dropped,
            "panics_read": self.panics_read,
            "cut_off_until": self.cut_off_until,
        }


@dataclass
class DeviceGuard:
    """Budgets per device, the floods in progress, and a change hook for live views."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    on_change: Callable[[Flood, bool], None] = lambda flood, started: None
    """Called when a flood starts (True) and when it ends (False)."""
    on_cut_off: Callable[[Flood], float | None] = lambda flood: None
    """Called once per flood when it passes ``Limits.cut_off_after`` dropped messages; returns
    until when the device is cut off at the broker (None: it could not be)."""
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _panics: dict[str, _Bucket] = field(default_factory=dict)
    _floods: dict[str, Flood] = field(default_factory=dict)

    def admit(self, device_id: str, room: str) -> bool:
        """May this device's next message be read? Counts it either way."""
        now = self.clock()
        flood = self._floods.get(device_id)
        if flood is not None and now >= flood.until:
            self._end(flood)
            flood = None
        bucket = self._buckets.get(device_id)
        if bucket is None:
            limits = self.limits
            bucket = _Bucket(limits.burst, limits.per_second, float(limits.burst), now)
            self._buckets[device_id] = bucket
        admitted = bucket.take(now)
        if flood is None and admitted:
            return True
        if flood is None:
            flood = self._start(device_id, room, now)
        flood.received += 1
        if not admitted:
            flood.last_excess, flood.until = now, now + self.limits.quiet_s
        return False

    def ignoring(self, device_id: str) -> bool:
        """Is this device in a flood? (Its messages then count only if they are panics.)"""
        return device_id in self._floods

    def admit_panic(self, device_id: str) -> bool:
        """A panic from an ignored device: read it while its own small budget lasts."""
        now = self.clock()
        bucket = self._panics.get(device_id)
        if bucket is None:
            limits = self.limits
            bucket = _Bucket(limits.panic_burst, limits.panic_per_second, limits.panic_burst, now)
            self._panics[device_id] = bucket
        admitted = bucket.take(now)
        flood = self._floods.get(device_id)
        if flood is not None and admitted:
            flood.panics_read += 1
        return admitted

    def dropped(self, device_id: str) -> None:
        flood = self._floods.get(device_id)
        if flood is None:
            return
        flood.dropped += 1
        if flood.dropped == self.limits.cut_off_after:
            flood.cut_off_until = self.on_cut_off(flood)

    def floods(self) -> list[Flood]:
        """The floods in progress (ended ones are closed on the way)."""
        now = self.clock()
        for flood in [f for f in self._floods.values() if now >= f.until]:
            self._end(flood)
        return sorted(self._floods.values(), key=lambda f: f.started)

    def forget(self, device_id: str) -> None:
        """A device removed from the inventory (revoked): nothing of it is kept."""
        self._buckets.pop(device_id, None)
        self._panics.pop(device_id, None)
        self._floods.pop(device_id, None)

    def _start(self, device_id: str, room: str, now: float) -> Flood:
        flood = Flood(
            device_id=device_id,
            room=room,
            started=now,
            last_excess=now,
            until=now + self.limits.quiet_s,
        )
        self._floods[device_id] = flood
        log.critical(
            "FLOOD: device %s (room %s) is over its message budget (%d at once, %.0f/s); "
            "ignoring it except for panics until it is quiet for %.0f s",
            device_id,
            room,
            self.limits.burst,
            self.limits.per_second,
            self.limits.quiet_s,
        )
        self.on_change(flood, True)
        return flood

    def _end(self, flood: Flood) -> None:
        del self._floods[flood.device_id]
        log.warning(
            "flood over: device %s (room %s) sent %d messages, %d dropped, %d panics read",
            flood.device_id,
            flood.room,
            flood.received,
            flood.dropped,
            flood.panics_read,
        )
        self.on_change(flood, False)


@dataclass
class LogThrottle:
    """Log a kind of rejection the first time, then at most once per ``every_s``: a flood
    of garbage is counted in full but must not fill the journal (or the SD card)."""

    every_s: float = 60.0
    _last: dict[str, float] = field(default_factory=dict)

    def should_log(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            return False
        if len(self._last) > 1024:  # keys are reasons, a handful; never let them grow
            self._last.clear()
        self._last[key] = now
        return True
