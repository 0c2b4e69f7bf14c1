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
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.bus import Bus, Change
from hub.clocks import SkewWatch
from hub.device_input import DeviceInput, DeviceRecord
from hub.guard import LogThrottle
from hub.stats import summary
from hub.store import HubStore
from protocol.intervals import OFFLINE_AFTER_S
from protocol.inventory import Inventory, Room
from protocol.messages import Directive, MessageError
from protocol.rules import RANK, DirectiveBook, Offer, lockdown_blocks
from protocol.signing import sign_directive
from protocol.srp import Action, Vocabulary
from protocol.topics import InvalidName, ScopeKind

log = logging.getLogger(__name__)


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
    drill: bool | None = None
    """None: decided by the hub (an All clear follows what it ends; anything else is real)."""
    location: str | None = None
    hazard: str | None = None
    strategy: str | None = None
    note: str | None = None


class Campus(DeviceInput):
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
        self._reject_log = LogThrottle()
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
        self._recent: dict[int, Directive] = {}
        self._history: dict[int, DirectiveBook] = {}
        self.devices = {d: DeviceRecord(room=r) for d, r in inventory.devices.items()}
        self._clocks = SkewWatch()

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
        return self._sign_and_publish(self.validate(request, user=user), user)

    def validate(self, request: DirectiveRequest, *, user: str) -> Directive:
        """Everything the hub checks before issuing, as an unsigned, unnumbered directive:
        the console's confirmation step shows exactly what would be issued, or why not."""
        self._check_scope(request)
        if request.action is Action.RELEASE:
            raise HubError("release a Lockdown with release(room), one room at a time")
        current = self._book.by_scope.get((request.scope, request.target))
        if lockdown_blocks(current, request.action):
            assert current is not None
            where = "the site" if request.scope is ScopeKind.SITE else request.target
            raise HubError(
                f"{where} is in Lockdown (#{current.seq}). Lockdown is released room by room "
                "(release) or ended by the All clear; a "
                f"{self.vocabulary[request.action].term} would silently replace it.",
                status=409,
            )
        strategy = request.strategy
        if request.action is Action.SHELTER and request.hazard and not strategy:
            strategy = self.vocabulary.shelter_strategies.get(request.hazard.lower())
        drill = self._drill_flag(request)
        checked = dataclasses.replace(request, strategy=strategy, drill=drill)
        try:
            return Directive(
                seq=self._book.latest_seq + 1,  # a placeholder: the store numbers it
                issued_at=self._now(),
                issued_by=user,
                **{f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)},
            )
        except (MessageError, InvalidName) as error:
            raise HubError(str(error)) from None

    def _drill_flag(self, request: DirectiveRequest) -> bool:
        """An All clear is a drill exactly when what it ends is: a drill must never end a
        real directive, nor a real All clear quietly end a drill (its record says DRILL)."""
        if request.action is not Action.ALL_CLEAR:
            return bool(request.drill)
        ending = {d.drill for d in self._in_force(request) if d.action in RANK}
        if len(ending) > 1:
            raise HubError(
                "drill and real directives are both in force here: end the real "
                "ones and the drill separately (by building or room)",
                409,
            )
        derived = ending.pop() if ending else bool(request.drill)
        if request.drill is not None and request.drill != derived:
            kind = "a drill" if derived else "real directives"
            raise HubError(f"{kind} in force here: this All clear must say drill={derived}", 409)
        return derived

    def _in_force(self, request: DirectiveRequest) -> list[Directive]:
        probe = Directive(
            seq=1,
            issued_at=0,
            scope=request.scope,
            target=request.target,
            action=Action.HOLD,
            drill=False,
            issued_by="-",
        )
        return [d for room in self.rooms_in(probe) if (d := self.effective(room)) is not None]

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

    def _sign_and_publish(self, checked: DirectiveRequest | Directive, user: str) -> Directive:
        if isinstance(checked, DirectiveRequest):  # a release: built here, always valid
            fields = {f.name: getattr(checked, f.name) for f in dataclasses.fields(checked)}
            checked = Directive(
                seq=1,
                issued_at=self._now(),
                issued_by=user,
                **fields | {"drill": bool(checked.drill)},
            )
        numbered = dataclasses.replace(checked, seq=self._store.next_seq(), issued_at=self._now())
        directive = sign_directive(numbered, self._key)
        self._store.add_directive(directive)
        self._store.audit(
            at=directive.issued_at,
            user=user,
            action=f"issue {directive.action}",
            detail=self._describe(directive),
        )
        self._book.offer(directive)
        self._remember(directive)
        self._publish(directive)
        log.warning("DIRECTIVE %s", self._describe(directive))
        self.bus.publish(Change.DIRECTIVE, directive=self._describe(directive))
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

    # -- from devices (the rest is in hub.device_input) -------------------------------------

    def adopt(self, directive: Directive) -> None:
        """A directive of ours found on the broker that the store does not have (a hub
        restored from an older backup): keep numbering above it, and show it as current."""
        if self._store.raise_seq(directive.seq):
            log.error(
                "the store was behind the broker (seq %d): numbering continues above it; "
                "was the hub's database restored from a backup?",
                directive.seq,
            )
        if self._book.offer(directive) is Offer.APPLIED:
            self._store.add_directive(directive)
            self.bus.publish(Change.DIRECTIVE, directive=self._describe(directive))

    def replace_inventory(self, inventory: Inventory) -> None:
        """New rooms and devices join; removed (revoked) devices are dropped."""
        added = set(inventory.devices) - set(self.devices)
        removed = set(self.devices) - set(inventory.devices)
        for device_id in added:
            self.devices[device_id] = DeviceRecord(room=inventory.devices[device_id])
        for device_id in removed:
            del self.devices[device_id]
        for device_id, room in inventory.devices.items():
            self.devices[device_id].room = room
        self.inventory = inventory
        self.bus.publish(
            Change.INVENTORY, rooms=len(inventory.rooms), devices=len(inventory.devices)
        )
        log.warning(
            "inventory reloaded: %d rooms, %d devices (+%d, -%d)",
            len(inventory.rooms),
            len(inventory.devices),
            len(added),
            len(removed),
        )

    def acknowledge_alert(self, event_id: str, *, user: str) -> None:
        if not self._store.acknowledge_event(event_id, user=user, at=self._now()):
            raise HubError(f"no unacknowledged alert {event_id!r}", status=404)
        self._store.audit(
            at=self._now(), user=user, action="acknowledge alert", detail={"event_id": event_id}
        )

    # -- supervision -----------------------------------------------------------------------

    def sweep(self) -> list[str]:
        """Mark silent devices offline; returns the ids newly marked.

        See :mod:`protocol.intervals`: silence means a dead node or link even when its
        last will was lost.
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
                self.bus.publish(Change.DEVICE, device_id=device_id, room=record.room, online=False)
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

    def effective_after(self, seq: int) -> DirectiveBook:
        """The per-scope book as it stood just after directive ``seq`` (for reports).

        Built forward from the nearest earlier snapshot, so a report of the last hundred
        directives reads the record once, not a hundred times.
        """
        if seq in self._history:
            return self._history[seq]
        start = max((s for s in self._history if s < seq), default=0)
        book = DirectiveBook(dict(self._history[start].by_scope) if start else {})
        for directive in self._store.directives(since_seq=start, limit=seq - start):
            book.offer(directive)
        if len(self._history) > 512:
            self._history.clear()
        self._history[seq] = book
        return book

    def directive_report(self, directive: Directive) -> dict[str, Any]:
        """Acks of a directive from the rooms where it took effect. A room in scope that a
        higher directive held (a Hold sent while it was in Lockdown) is listed as held."""
        book = self.effective_after(directive.seq)
        rooms, held = [], {}
        for room in self.rooms_in(directive):
            shown = book.effective(room=room.id, building=room.building)
            if shown is not None and shown.seq != directive.seq:
                held[room.id] = f"{self.vocabulary[shown.action].term} #{shown.seq}"
            else:
                rooms.append(room)
        latencies = {r.id: self.room_ack_ms(r, directive) for r in rooms}
        measured = [ms for ms in latencies.values() if ms is not None]
        return self._describe(directive) | {
            "total": len(rooms),
            "acked": len(measured),
            "ack_ms": summary(measured),
            "rooms": {room: None if ms is None else round(ms, 1) for room, ms in latencies.items()},
            "held": held,
        }
