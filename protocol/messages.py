"""The messages on the wire, as frozen dataclasses that validate themselves.

A message that exists is a valid message: the codec builds these through their
constructors, so every check here also guards every payload received.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from protocol.srp import Action
from protocol.topics import ScopeKind, check_level

MAX_TEXT = 200
"""Longest free text (a location, a hazard, a note): a display line, not an essay."""


MAX_FAULTS = 16
"""Parts a node reports on: a button, an LED, a display, a few serial peripherals."""

MAX_TIME = 4102444800.0
"""2100-01-01 UTC. Times are seconds since the epoch from someone's clock: a node's may be
years behind (a Pi boots with an old time, 0 included), never negative or centuries on."""


class MessageError(ValueError):
    """A message whose fields are individually well-typed but do not make sense together."""


def _check_times(**times: float) -> None:
    for name, value in times.items():
        if not 0.0 <= value <= MAX_TIME:
            raise MessageError(f"{name} {value} is not a time between 1970 and 2100")


def _check_text(name: str, value: str | None, *, required: bool = False) -> None:
    if value is None or value == "":
        if required:
            raise MessageError(f"{name} is required")
        return
    if len(value) > MAX_TEXT:
        raise MessageError(f"{name} is {len(value)} characters; the limit is {MAX_TEXT}")
    if any(unicodedata.category(c) == "Cc" for c in value):  # C0, DEL and C1 (8-bit CSI)
        raise MessageError(f"{name} contains control characters")


@dataclass(frozen=True, kw_only=True)
class HubState:
    """Retained on ``hub/state``: is the hub up, which epoch, and how often it beats."""

    TYPE: ClassVar[str] = "hub_state"
    online: bool
    epoch: int
    """Changes on every hub start: a device seeing a new epoch re-announces itself."""
    heartbeat_s: float
    time: float
    latest_seq: int = 0

    def __post_init__(self) -> None:
        if self.epoch < 0 or self.latest_seq < 0:
            raise MessageError("epoch and latest_seq must not be negative")
        if not 0 < self.heartbeat_s <= 3600:
            raise MessageError(f"heartbeat_s {self.heartbeat_s} is outside 0-3600 s")
        _check_times(time=self.time)


@dataclass(frozen=True, kw_only=True)
class Directive:
    """A signed SRP directive for one scope. Newer ``seq`` wins; see ``protocol.rules``."""

    TYPE: ClassVar[str] = "directive"
    seq: int
    issued_at: float
    scope: ScopeKind
    target: str = ""
    action: Action
    drill: bool
    location: str | None = None
    hazard: str | None = None
    strategy: str | None = None
    note: str | None = None
    issued_by: str
    sig: str = ""
    """Base64 Ed25519 signature over the canonical encoding without this field."""

    def __post_init__(self) -> None:
        if self.seq <= 0:
            raise MessageError("seq must be a positive integer")
        _check_times(issued_at=self.issued_at)
        if (self.scope is ScopeKind.SITE) != (self.target == ""):
            raise MessageError("a site directive has no target; a building or room one needs one")
        if self.target:
            check_level(self.scope.value, self.target)
        self._check_details()
        _check_text("issued_by", self.issued_by, required=True)
        _check_text("note", self.note)

    def _check_details(self) -> None:
        if self.action is Action.EVACUATE:
            _check_text("location", self.location, required=True)
        elif self.location is not None:
            raise MessageError("only Evacuate has a location")
        if self.action is Action.SHELTER:
            _check_text("hazard", self.hazard, required=True)
            _check_text("strategy", self.strategy, required=True)
        elif self.hazard is not None or self.strategy is not None:
            raise MessageError("only Shelter has a hazard and a strategy")
        if self.action is Action.RELEASE and self.scope is not ScopeKind.ROOM:
            raise MessageError("a Lockdown is released room by room: release needs a room scope")


@dataclass(frozen=True, kw_only=True)
class DeviceStatus:
    """Retained on ``device/<id>/status``; the last will carries ``online=False``.

    ``session`` grows by one on every connect, so the hub can drop a will that arrives
    after the device has already reconnected (the Sparkplug ``bdSeq`` idea).
    """

    TYPE: ClassVar[str] = "status"
    device_id: str
    room: str
    online: bool
    session: int
    firmware: str
    time: float
    hub_epoch: int = 0
    faults: dict[str, str] = field(default_factory=dict)
    """Part name -> what is wrong with it; empty when every part is healthy."""

    def __post_init__(self) -> None:
        check_level("device", self.device_id)
        check_level("room", self.room)
        if self.session < 0:
            raise MessageError("session must not be negative")
        if self.hub_epoch < 0:
            raise MessageError("hub_epoch must not be negative")
        _check_times(time=self.time)
        _check_text("firmware", self.firmware, required=True)
        if len(self.faults) > MAX_FAULTS:
            raise MessageError(f"{len(self.faults)} faults; the limit is {MAX_FAULTS} parts")
        for part, reason in self.faults.items():
            _check_text("fault part", part, required=True)
            _check_text(f"faults.{part}", reason, required=True)


class EventKind(StrEnum):
    """What happened in a room, from the button that raised it to the office console."""

    PANIC = "panic"
    CANCEL = "cancel"
    STAFF_ASSIST = "staff_assist"
    ALL_ACCOUNTED = "all_accounted"
    FAULT = "fault"
    ROLL = "roll"
    """A headcount for the directive in force (``Event.roll``): missing, extra, injured."""


ALERT_KINDS = (EventKind.PANIC, EventKind.CANCEL)
"""An alert and its cancellation: the office acts on these, and both stay in the record."""

STAFF_REPORT_KINDS = (EventKind.STAFF_ASSIST, EventKind.ALL_ACCOUNTED)
"""Silent staff status reports: shown on the office board, never on the room's display."""

ROLL_KINDS = (*STAFF_REPORT_KINDS, EventKind.ROLL)
"""The events that report a room's roll for the directive they name (``Event.seq``)."""

MAX_HEADCOUNT = 1000
"""The most people one room's report may count in any line: a gym at an assembly, not a
class. Anything above it is a typing slip or a hostile node, never believed."""


@dataclass(frozen=True, kw_only=True)
class Roll:
    """A room's accountability report (SRP: missing, extra and injured people, and whether
    the room needs help). ``None`` is "not counted": a node's button cannot count."""

    missing: int | None
    extra: int | None
    injured: int | None
    help: bool

    def __post_init__(self) -> None:
        for name in ("missing", "extra", "injured"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_HEADCOUNT:
                raise MessageError(f"roll.{name} {value} is outside 0-{MAX_HEADCOUNT}")

    @property
    def all_accounted(self) -> bool:
        """Every student accounted for: none missing (extra and injured are told apart)."""
        return self.missing == 0

    @classmethod
    def of(cls, event: Event) -> Roll | None:
        """The roll an event reports: a button's is implied by its kind, a ``roll``
        event's is its own; None for every other kind."""
        if event.kind is EventKind.ALL_ACCOUNTED:
            return ALL_ACCOUNTED
        if event.kind is EventKind.STAFF_ASSIST:
            return NEEDS_HELP
        return event.roll


ALL_ACCOUNTED = Roll(missing=0, extra=None, injured=None, help=False)
"""What the node's "all accounted" button reports."""
NEEDS_HELP = Roll(missing=None, extra=None, injured=None, help=True)
"""What the node's "staff assist" button reports: help, with nothing counted."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in a room. Kept in the device's outbox until its receipt."""

    TYPE: ClassVar[str] = "event"
    event_id: str
    device_id: str
    room: str
    kind: EventKind
    created_at: float
    cancels: str | None = None
    """For a cancellation: the event id of the panic it cancels."""
    detail: str | None = None
    seq: int | None = None
    """For a roll report (``ROLL_KINDS``): the directive it answers, the one on the room's
    screen; None when the room shows none (the press is still a staff report)."""
    roll: Roll | None = None
    """For a ``roll`` event, and only for one: the headcount."""

    def __post_init__(self) -> None:
        check_level("event", self.event_id)
        check_level("device", self.device_id)
        check_level("room", self.room)
        _check_times(created_at=self.created_at)
        if (self.kind is EventKind.CANCEL) != (self.cancels is not None):
            raise MessageError("a cancel event, and only a cancel event, names what it cancels")
        if self.cancels is not None:
            check_level("event", self.cancels)
        _check_text("detail", self.detail)
        self._check_roll()

    def _check_roll(self) -> None:
        if self.seq is not None and self.kind not in ROLL_KINDS:
            raise MessageError(f"a {self.kind.value} event names no directive (seq)")
        if self.seq is not None and self.seq <= 0:
            raise MessageError("seq must be a positive integer")
        if (self.kind is EventKind.ROLL) != (self.roll is not None):
            raise MessageError("a roll event, and only a roll event, carries a roll")
        if self.kind is EventKind.ROLL and self.seq is None:
            raise MessageError("a roll event names the directive it reports for (seq)")


@dataclass(frozen=True, kw_only=True)
class Ack:
    """ "Directive ``seq`` is on my screen since ``shown_at``": sent after the frame is drawn."""

    TYPE: ClassVar[str] = "ack"
    device_id: str
    room: str
    seq: int
    shown_at: float

    def __post_init__(self) -> None:
        check_level("device", self.device_id)
        check_level("room", self.room)
        if self.seq <= 0:
            raise MessageError("seq must be a positive integer")
        _check_times(shown_at=self.shown_at)


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """The hub has stored event ``event_id``: the device may drop it from its outbox."""

    TYPE: ClassVar[str] = "receipt"
    event_id: str
    received_at: float
    duplicate: bool = False

    def __post_init__(self) -> None:
        check_level("event", self.event_id)
        _check_times(received_at=self.received_at)


class CommandKind(StrEnum):
    REPUBLISH = "republish"
    """Send status, ack and pending events again (the office asks "are you there?")."""
    IDENTIFY = "identify"
    """Blink the status LED, so a technician finds the node in a room."""


@dataclass(frozen=True, kw_only=True)
class Command:
    """A signed instruction from the hub to one device (``device/<id>/command``).

    A device acts on it only if the signature holds, it is addressed to this device, its
    ``seq`` is newer than the last command it accepted, and it has not expired (a command
    the broker queued while the device was away is stale when it finally arrives).
    """

    TYPE: ClassVar[str] = "command"
    seq: int
    device_id: str
    kind: CommandKind
    issued_at: float
    expires_at: float
    issued_by: str
    sig: str = ""

    def __post_init__(self) -> None:
        if self.seq <= 0:
            raise MessageError("seq must be a positive integer")
        check_level("device", self.device_id)
        _check_times(issued_at=self.issued_at, expires_at=self.expires_at)
        if self.expires_at <= self.issued_at:
            raise MessageError("a command must expire after it is issued")
        _check_text("issued_by", self.issued_by, required=True)


check_text = _check_text
check_times = _check_times
"""For the district's messages (protocol.district), held to the same bounds."""

Message = HubState | Directive | DeviceStatus | Event | Ack | Receipt | Command
Signed = Directive | Command
MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls for cls in (HubState, Directive, DeviceStatus, Event, Ack, Receipt, Command)
}
