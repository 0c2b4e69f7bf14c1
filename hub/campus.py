"""The campus as the hub knows it: directives per scope, devices, acks and alerts.

Everything here is recovered from the store after a restart. MQTT is not known here:
the service injects the function that publishes a directive.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.bus import Bus
from hub.stats import summary
from hub.store import HubStore
from protocol.inventory import Inventory, Room
from protocol.messages import Ack, DeviceStatus, Directive, Event, EventKind, MessageError
from protocol.rules import DirectiveBook
from protocol.signing import sign_directive
from protocol.srp import Action, Vocabulary
from protocol.topics import InvalidName, ScopeKind

log = logging.getLogger(__name__)


OFFLINE_AFTER_S = 60.0
"""No word from a device for this long and it is offline (the fire code allows 200 s)."""
ACK_DUE_S = 10.0
"""NFPA 72 §10.11.1's 10 s: a display that has not confirmed the current directive after
this long is flagged, on the board and in the trouble list."""


class HubError(Exception):
    """A request the hub refuses; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, kw_only=True)
class DirectiveRequest:
    action: Action
    scope: ScopeKind = ScopeKind.SITE
    target: str = ""
    drill: bool = False
    location: str | None = None
    hazard: str | None = None
    strategy: str | None = None
    note: str | None = None


@dataclass
class DeviceRecord:
    room: str
    online: bool = False
    session: int = -1
    firmware: str = ""
    faults: dict[str, str] = field(default_factory=dict)
    last_seen: float | None = None


class Campus:
    def __init__(
        self,
        *,
        inventory: Inventory,
        store: HubStore,
        signing_key: Ed25519PrivateKey,
        publish_directive: Callable[[Directive], None],
        vocabulary: Vocabulary | None = None,
        bus: Bus | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inventory = inventory
        self.vocabulary = vocabulary or Vocabulary()
        self.bus = bus or Bus()
        self.rejected: Counter[str] = Counter()
        self._store, self._key, self._publish, self._now = (
            store,
            signing_key,
            publish_directive,
            clock,
        )
        self._book = DirectiveBook()
        for directive in store.latest_per_scope():
            self._book.offer(directive)
        self._acks: dict[int, dict[str, float]] = {}
        self.devices = {d: DeviceRecord(room=r) for d, r in inventory.devices.items()}

    @property
    def current_directives(self) -> list[Directive]:
        return sorted(self._book.by_scope.values(), key=lambda d: d.seq)

    @property
    def latest_seq(self) -> int:
        return self._book.latest_seq

    def effective(self, room: Room) -> Directive | None:
        return self._book.effective(room=room.id, building=room.building)

    def room(self, room_id: str) -> Room:
        room = self.inventory.rooms.get(room_id)
        if room is None:
            raise HubError(f"unknown room {room_id!r}; see the site inventory", status=404)
        return room

    # -- directives ------------------------------------------------------------------------

    def issue(self, request: DirectiveRequest, *, user: str) -> Directive:
        """Validate, number, sign, record and publish one directive."""
        self._check_scope(request)
        if request.action is Action.RELEASE:
            raise HubError("release a Lockdown with release(room), one room at a time")
        strategy = request.strategy
        if request.action is Action.SHELTER and request.hazard and not strategy:
            strategy = self.vocabulary.shelter_strategies.get(request.hazard.lower())
        return self._sign_and_publish(dataclasses.replace(request, strategy=strategy), user)

    def release(self, room_id: str, *, user: str) -> Directive:
        """Release one room from Lockdown: never a broadcast (SRP)."""
        room = self.room(room_id)
        current = self.effective(room)
        if current is None or current.action is not Action.LOCKDOWN:
            state = "no directive" if current is None else current.action.value
            raise HubError(f"room {room_id} is not in Lockdown (it has {state})", status=409)
        request = DirectiveRequest(
            action=Action.RELEASE, scope=ScopeKind.ROOM, target=room_id, drill=current.drill
        )
        return self._sign_and_publish(request, user)

    def _check_scope(self, request: DirectiveRequest) -> None:
        if request.scope is ScopeKind.ROOM:
            self.room(request.target)
        elif request.scope is ScopeKind.BUILDING and request.target not in self.inventory.buildings:
            raise HubError(f"unknown building {request.target!r}; see the site inventory", 404)

    def _sign_and_publish(self, request: DirectiveRequest, user: str) -> Directive:
        try:
            unsigned = Directive(
                seq=self._book.latest_seq + 1,  # checked only; the store numbers it below
                issued_at=self._now(),
                issued_by=user,
                **{f.name: getattr(request, f.name) for f in dataclasses.fields(request)},
            )
        except (MessageError, InvalidName) as error:
            raise HubError(str(error)) from None
        numbered = dataclasses.replace(unsigned, seq=self._store.next_seq())
        directive = sign_directive(numbered, self._key)
        self._store.add_directive(directive)
        self._store.audit(
            at=directive.issued_at,
            user=user,
            action=f"issue {directive.action}",
            detail=self._describe(directive),
        )
        self._book.offer(directive)
        self._publish(directive)
        log.warning("DIRECTIVE %s", self._describe(directive))
        self.bus.publish("directive", directive=self._describe(directive))
        return directive

    def _describe(self, directive: Directive) -> dict[str, Any]:
        wording = self.vocabulary[directive.action]
        body = {f.name: getattr(directive, f.name) for f in dataclasses.fields(directive)}
        body.pop("sig")
        return body | {
            "term": wording.term,
            "scope": directive.scope.value,
            "action": directive.action.value,
        }

    # -- from devices ----------------------------------------------------------------------

    def reject(self, reason: str, detail: str) -> None:
        """Count and log a message that was refused; live views see the count change."""
        self.rejected[reason] += 1
        log.warning("rejected: %s: %s", reason, detail)
        self.bus.publish("rejected", reason=reason)

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
            status.faults,
            self._now(),
        )
        self._store.save_device(status, room=record.room, seen_at=record.last_seen)
        self.bus.publish("device", device_id=device_id, room=record.room, online=status.online)

    def on_ack(self, device_id: str, ack: Ack) -> None:
        record = self.known_device(device_id)
        if record is None:
            return
        now = self._now()
        record.last_seen = now
        if self._store.add_ack(ack, room=record.room, received_at=now):
            self.acks(ack.seq)[device_id] = now  # loads acks stored before a restart first
            self.bus.publish("ack", device_id=device_id, room=record.room, seq=ack.seq)

    def on_event(self, device_id: str, event: Event) -> bool:
        """Record an event once. Returns False for a duplicate (still receipted)."""
        record = self.known_device(device_id)
        if record is None:
            return False
        now = self._now()
        record.last_seen = now
        if not self._store.add_event(event, room=record.room, received_at=now):
            # A resend after a lost receipt: harmless, receipted again, counted.
            self.rejected["duplicate event"] += 1
            return False
        if event.kind is EventKind.PANIC:
            log.critical("PANIC ALERT in room %s (device %s)", record.room, device_id)
        self.bus.publish(
            "event",
            room=record.room,
            event_id=event.event_id,
            event=event.kind.value,
            created_at=event.created_at,
            received_at=now,
        )
        return True

    def acknowledge_alert(self, event_id: str, *, user: str) -> None:
        if not self._store.acknowledge_event(event_id, user=user, at=self._now()):
            raise HubError(f"no unacknowledged alert {event_id!r}", status=404)
        self._store.audit(
            at=self._now(), user=user, action="acknowledge alert", detail={"event_id": event_id}
        )

    # -- supervision -----------------------------------------------------------------------

    def sweep(self) -> list[str]:
        """Mark silent devices offline; returns the ids newly marked.

        Devices repeat their status every 20 s, so silence means a dead node or link even
        when its last will was lost (a broker restarted without persistence, say).
        """
        now, silent = self._now(), []
        for device_id, record in self.devices.items():
            if record.online and (record.last_seen or 0) < now - OFFLINE_AFTER_S:
                record.online = False
                silent.append(device_id)
                log.warning(
                    "device %s (room %s) silent for %.0f s: offline",
                    device_id,
                    record.room,
                    OFFLINE_AFTER_S,
                )
                self.bus.publish("device", device_id=device_id, room=record.room, online=False)
        return silent

    def trouble(self) -> dict[str, list[str]]:
        """What the office must look at: offline displays, unconfirmed directives, faults."""
        now = self._now()
        offline = sorted(d for d, r in self.devices.items() if not r.online)
        unacked = []
        for room in self.inventory.rooms.values():
            directive = self.effective(room)
            if (
                directive is not None
                and now - directive.issued_at > ACK_DUE_S
                and self.room_ack_ms(room, directive) is None
            ):
                unacked.append(room.id)
        faults = sorted(
            f"{d}: {part}: {why}" for d, r in self.devices.items() for part, why in r.faults.items()
        )
        return {"offline": offline, "unacked": sorted(unacked), "faults": faults}

    # -- views -----------------------------------------------------------------------------

    def acks(self, seq: int) -> dict[str, float]:
        if seq not in self._acks:
            self._acks[seq] = self._store.acks_for(seq)
        return self._acks[seq]

    def room_ack_ms(self, room: Room, directive: Directive) -> float | None:
        """When every display in the room had acked, in ms after issue; None if one has not."""
        devices = self.inventory.devices_in(room.id)
        acks = self.acks(directive.seq)
        if not devices or any(d not in acks for d in devices):
            return None
        return max(acks[d] - directive.issued_at for d in devices) * 1000

    def rooms_in(self, directive: Directive) -> list[Room]:
        rooms = self.inventory.rooms.values()
        if directive.scope is ScopeKind.SITE:
            return list(rooms)
        if directive.scope is ScopeKind.BUILDING:
            return [r for r in rooms if r.building == directive.target]
        return [r for r in rooms if r.id == directive.target]

    def directive_report(self, directive: Directive) -> dict[str, Any]:
        rooms = self.rooms_in(directive)
        latencies = {r.id: self.room_ack_ms(r, directive) for r in rooms}
        measured = [ms for ms in latencies.values() if ms is not None]
        return self._describe(directive) | {
            "total": len(rooms),
            "acked": len(measured),
            "ack_ms": summary(measured),
            "rooms": {room: None if ms is None else round(ms, 1) for room, ms in latencies.items()},
        }
