"""The two messages between a school hub and its district (docs/protocol.md, "District").

They cross the school's bridge and never reach a device: the ``district_summary`` a hub
publishes for the district, and the ``district_request`` the district signs with its own
key. A school hub never passes a request on: it checks it and issues its own directive,
so devices only ever trust their own hub. They live beside ``protocol.messages`` (whose
strict checks they reuse) and join the codec through :data:`WIRE_TYPES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol.messages import (
    MESSAGE_TYPES,
    Directive,
    Message,
    MessageError,
    check_text,
    check_times,
)
from protocol.srp import Action
from protocol.topics import ScopeKind, check_level

MAX_LISTED = 64
"""Most rooms (or directives, or request outcomes) a summary lists by name; its counts are
always whole. The hub also shortens the lists so the summary fits the 4 KiB payload."""

REQUEST_TOLERANCE_S = 60.0
"""How far a request's ``issued_at`` may be from the school hub's clock, either way: both
are servers on NTP. A request the bridge queued while the link was down is stale when it
arrives, and refused without deciding its id: the district, hearing no answer, sends a
fresh copy of the same id (district.resend), and that one is decided."""


@dataclass(frozen=True, kw_only=True)
class DistrictRequest:
    """A district directive for one school, signed with the district's Ed25519 key.

    The fields after ``issued_at`` are a directive's (site or building scope: Lockdown is
    released room by room, at the door, never from the district). ``request_id`` is one
    district action, the same for each school it names; the signature covers ``site``.
    """

    TYPE: ClassVar[str] = "district_request"
    request_id: str
    district: str
    site: str
    issued_at: float
    action: Action
    scope: ScopeKind = ScopeKind.SITE
    target: str = ""
    drill: bool
    location: str | None = None
    hazard: str | None = None
    strategy: str | None = None
    note: str | None = None
    issued_by: str
    """The district user who confirmed it."""
    sig: str = ""

    def __post_init__(self) -> None:
        check_level("request", self.request_id)
        check_level("district", self.district)
        check_level("site", self.site)
        if self.scope is ScopeKind.ROOM:
            raise MessageError("a district request is for a school or a building, not a room")
        # The directive the school would issue must itself be valid.
        Directive(
            seq=1,
            issued_at=self.issued_at,
            scope=self.scope,
            target=self.target,
            action=self.action,
            drill=self.drill,
            location=self.location,
            hazard=self.hazard,
            strategy=self.strategy,
            note=self.note,
            issued_by=self.issued_by,
        )


@dataclass(frozen=True, kw_only=True)
class SummaryDirective:
    """One directive in force at the school, and how many rooms have it on screen."""

    seq: int
    action: Action
    scope: ScopeKind
    target: str = ""
    drill: bool
    issued_at: float
    confirmed: int
    """Rooms where it is the directive in force and every display has confirmed it."""
    total: int
    """Rooms where it is the directive in force (a higher one elsewhere holds the rest)."""
    request: str | None = None
    """The district request it was issued for; None for the school's own."""
    pending_rooms: tuple[str, ...] = ()
    """Rooms where it is in force whose displays have not all confirmed it: who does not
    have it yet. At most ``total - confirmed`` and :data:`MAX_LISTED`, and shortened to
    fit the payload (the summary says ``shortened``)."""

    def __post_init__(self) -> None:
        check_times(issued_at=self.issued_at)
        if self.seq <= 0 or not 0 <= self.confirmed <= self.total:
            raise MessageError("a directive needs seq > 0 and 0 <= confirmed <= total")
        if self.request is not None:
            check_level("request", self.request)
        if len(self.pending_rooms) > min(self.total - self.confirmed, MAX_LISTED):
            raise MessageError(
                f"pending_rooms lists more rooms than total - confirmed (or {MAX_LISTED})"
            )
        for room in self.pending_rooms:
            check_level("room", room)


@dataclass(frozen=True, kw_only=True)
class RequestOutcome:
    """What the school did with one district request: issued (``seq``) or refused (why)."""

    request_id: str
    at: float
    """The school hub's clock when it decided."""
    issued: bool
    seq: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        check_level("request", self.request_id)
        check_times(at=self.at)
        if self.issued != (self.seq is not None) or self.issued == (self.reason is not None):
            raise MessageError("an issued request has a seq, a refused one a reason")
        check_text("reason", self.reason)


@dataclass(frozen=True, kw_only=True)
class DistrictSummary:
    """A school's state in one retained message, on ``district/summary``.

    Published when it changes (at most once a second) and every ``heartbeat_s`` anyway,
    never for a device's heartbeat. ``seq`` grows with every summary (it survives hub
    restarts); ``time`` is the hub's clock; the district judges the link by arrival.
    """

    TYPE: ClassVar[str] = "district_summary"
    site: str
    seq: int
    epoch: int
    time: float
    heartbeat_s: float
    rooms: int
    in_force: int
    """Rooms with a directive in force (not idle)."""
    confirmed: int
    """Of those, rooms whose every display has confirmed it."""
    directives: tuple[SummaryDirective, ...] = ()
    alerts: int
    """Open panic alerts (neither cancelled nor acknowledged), however old."""
    alert_rooms: tuple[str, ...] = ()
    offline: int
    """Rooms with a display that is offline, or with none."""
    offline_rooms: tuple[str, ...] = ()
    requests: tuple[RequestOutcome, ...] = ()
    """The latest district requests and what became of them, newest first."""
    all_clears: tuple[SummaryDirective, ...] = ()
    """District All clears that are some room's latest directive, with rooms confirmed of
    total and pending: an All clear is in force nowhere (so not in ``directives``), yet the
    district must see which rooms have it on screen, as for any directive it asked for."""
    shortened: bool = False
    """A list was cut to fit the payload; the counts are still whole."""

    def __post_init__(self) -> None:
        check_level("site", self.site)
        check_times(time=self.time)
        if self.seq <= 0 or self.epoch < 0 or not 0 < self.heartbeat_s <= 3600:
            raise MessageError("seq must be positive, epoch not negative, heartbeat 0-3600 s")
        if not 0 <= self.confirmed <= self.in_force <= self.rooms:
            raise MessageError("needs 0 <= confirmed <= in_force <= rooms")
        for name, count, listed in (
            ("alert_rooms", self.alerts, self.alert_rooms),
            ("offline_rooms", self.offline, self.offline_rooms),
        ):
            if not len(listed) <= min(count, MAX_LISTED):
                raise MessageError(f"{name} lists more rooms than its count (or {MAX_LISTED})")
            for room in listed:
                check_level("room", room)
        if max(len(self.directives), len(self.requests), len(self.all_clears)) > MAX_LISTED:
            raise MessageError(f"at most {MAX_LISTED} directives and requests")


WireMessage = Message | DistrictSummary | DistrictRequest
WIRE_TYPES: dict[str, type[WireMessage]] = MESSAGE_TYPES | {
    cls.TYPE: cls for cls in (DistrictSummary, DistrictRequest)
}
"""Every message type the codec knows: the device's and hub's, and the district's."""
