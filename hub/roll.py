"""The roll: after a directive, each room accounts for its people (SRP accountability).

A room's report answers one directive (the one on its screen): all accounted, or missing,
extra and injured counts, and whether it needs help; with when it reached the hub (the
hub's clock) and who sent it (a device now, a person from a page later). A later report for
the same room and directive replaces the earlier one in the roll; every report stays on
record (:mod:`hub.store_roll`).

A report is believed only as far as the hub can check it: it comes from the room the
inventory gives its sender, for a directive this hub issued to that room and that asks
something of it (not an All clear). Anything else is refused and counted, like every other
rejection. Nothing here ever reaches a classroom display: the roll is silent (during a
Lockdown nothing may show in the door window that the room is occupied).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from hub.bus import Bus, Change
from hub.directives import Directives
from hub.errors import Conflict, NotFound
from hub.presence import Presence
from hub.rejections import Rejections
from hub.store import HubStore
from protocol.messages import Directive, Event, Roll
from protocol.rules import covers
from protocol.srp import Action, is_idle

log = logging.getLogger(__name__)

SenderKind = Literal["device", "user"]


@dataclass(frozen=True)
class Sender:
    """Who sent a report: a node (its device id) or a person (a console or page user)."""

    kind: SenderKind
    id: str


@dataclass(frozen=True)
class RollEntry:
    """One report as the roll reads it."""

    room: str
    seq: int
    roll: Roll
    at: float
    """When it reached the hub, by the hub's clock."""
    by: Sender
    event_id: str | None = None

    @property
    def words(self) -> str:
        return roll_words(self.roll)

    def as_dict(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "seq": self.seq,
            "missing": self.roll.missing,
            "extra": self.roll.extra,
            "injured": self.roll.injured,
            "help": self.roll.help,
            "all_accounted": self.roll.all_accounted,
            "words": self.words,
            "at": self.at,
            "by": self.by.id,
            "by_kind": self.by.kind,
            "event_id": self.event_id,
        }


def roll_words(roll: Roll) -> str:
    """The report in a few words, as the office reads it: "2 missing, 1 injured, NEEDS HELP"."""
    parts = ["All accounted" if roll.all_accounted else ""]
    if roll.missing:
        parts.append(f"{roll.missing} missing")
    parts += [f"{n} {what}" for n, what in ((roll.extra, "extra"), (roll.injured, "injured")) if n]
    if roll.help:
        parts.append("NEEDS HELP")
    said = [p for p in parts if p]
    return ", ".join(said) if said else "Reported, nothing counted"


def _entry(row: dict[str, Any]) -> RollEntry:
    return RollEntry(
        room=row["room"],
        seq=row["seq"],
        roll=Roll(
            missing=row["missing"],
            extra=row["extra"],
            injured=row["injured"],
            help=bool(row["help"]),
        ),
        at=row["reported_at"],
        by=Sender(kind=row["by_kind"], id=row["by_id"]),
        event_id=row["event_id"],
    )


def latest_per_room(entries: Iterable[RollEntry]) -> dict[tuple[str, int], RollEntry]:
    """(room, seq) -> its newest report; ``entries`` oldest first."""
    newest: dict[tuple[str, int], RollEntry] = {}
    for entry in entries:
        newest[(entry.room, entry.seq)] = entry
    return newest


class RollCall:
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

    def on_event(self, device_id: str, room_id: str, event: Event) -> RollEntry | None:
        """A device's new event (recorded once by hub.device_events): its roll report, if
        it makes one. ``room_id`` is the device's room in the inventory; a report naming
        another room is refused (the event itself still stands as a staff report)."""
        roll = Roll.of(event)
        if roll is None or event.seq is None:
            return None  # not a report, or a press with no directive on the screen
        if event.room != room_id:
            self._rejected.record(
                "roll for another room", f"{device_id} of room {room_id} reports for {event.room}"
            )
            return None
        refused = self._refusal(room_id, event.seq)
        if refused is not None:
            self._rejected.record(refused, f"{device_id} reports for #{event.seq}")
            return None
        return self._record(room_id, event.seq, roll, Sender("device", device_id), event.event_id)

    def report(self, room_id: str, seq: int, roll: Roll, *, user: str) -> RollEntry:
        """A person's report for a room (the teacher's page): the same checks, refused
        with a reason they can act on, and in the audit log."""
        self._presence.room(room_id)  # NotFound for a room the inventory does not have
        refused = self._refusal(room_id, seq)
        if refused is not None:
            raise (NotFound if refused == "roll of no directive" else Conflict)(
                f"{refused}: #{seq} is not a directive in force for room {room_id}"
            )
        entry = self._record(room_id, seq, roll, Sender("user", user), None)
        self._store.audit(at=entry.at, user=user, action="roll report", detail=entry.as_dict())
        return entry

    def _refusal(self, room_id: str, seq: int) -> str | None:
        directive = self._directives.issued(seq)
        if directive is None:
            return "roll of no directive"
        room = self._presence.inventory.rooms.get(room_id)
        if room is None or not covers(directive, room):
            return "roll outside its room"
        if is_idle(directive.action):
            return "roll of no directive in force"
        return None

    def _record(
        self, room_id: str, seq: int, roll: Roll, by: Sender, event_id: str | None
    ) -> RollEntry:
        entry = RollEntry(
            room=room_id, seq=seq, roll=roll, at=self._now(), by=by, event_id=event_id
        )
        self._store.add_roll(
            room=room_id,
            seq=seq,
            roll=roll,
            by_kind=by.kind,
            by_id=by.id,
            at=entry.at,
            event_id=event_id,
        )
        log.info("roll: room %s, #%d: %s (%s %s)", room_id, seq, entry.words, by.kind, by.id)
        self._bus.publish(Change.ROLL, room=room_id, seq=seq, words=entry.words)
        return entry

    def reports(self, seqs: Iterable[int]) -> list[RollEntry]:
        """Every report for the directives ``seqs``, oldest first (the debrief's timeline)."""
        return [_entry(row) for row in self._store.rolls_for(seqs)]

    def campus(self) -> CampusRoll:
        """The roll of every room under a directive in force, read fresh from the record."""
        inventory = self._presence.inventory
        rooms = sorted(inventory.rooms.values(), key=lambda r: (r.building, r.floor, r.id))
        in_scope: dict[str, Directive] = {}
        for room in rooms:
            directive = self._directives.effective(room)
            if directive is not None and not is_idle(directive.action):
                in_scope[room.id] = directive
        newest = latest_per_room(self.reports({d.seq for d in in_scope.values()}))
        return CampusRoll(
            scope={room: directive.action for room, directive in in_scope.items()},
            entries={
                room: newest[(room, directive.seq)]
                for room, directive in in_scope.items()
                if (room, directive.seq) in newest
            },
        )


@dataclass(frozen=True)
class CampusRoll:
    """The roll now: the rooms a directive in force asks to account (in board order) and
    each one's newest report for that directive."""

    scope: dict[str, Action]
    """Room id -> the action of its directive in force, in board order."""
    entries: dict[str, RollEntry]

    @property
    def unreported(self) -> list[str]:
        """Rooms in scope without a report; after an Evacuate, those rooms come first."""
        missing = [room for room in self.scope if room not in self.entries]
        return sorted(missing, key=lambda room: not self.evacuating(room))

    def due(self, room: str) -> bool:
        """Whether a directive in force asks the room for its roll."""
        return room in self.scope

    def evacuating(self, room: str) -> bool:
        return self.scope.get(room) is Action.EVACUATE

    def totals(self) -> dict[str, Any]:
        rolls = [entry.roll for entry in self.entries.values()]
        return {
            "in_scope": len(self.scope),
            "reported": len(self.entries),
            "all_accounted": sum(r.all_accounted for r in rolls),
            "missing": sum(r.missing or 0 for r in rolls),
            "extra": sum(r.extra or 0 for r in rolls),
            "injured": sum(r.injured or 0 for r in rolls),
            "help": sum(r.help for r in rolls),
            "unreported": self.unreported,
        }

    def as_dict(self) -> dict[str, Any]:
        """What ``/api/status`` carries as ``roll``."""
        return self.totals() | {
            "rooms": {room: entry.as_dict() for room, entry in self.entries.items()}
        }
