"""The campus board: one tile per room, what the office must see at a glance.

Built fresh from the engine and the store on every request (the page re-fetches it when
the event stream says something changed), so the board can never drift from the hub.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from hub.acknowledgements import ACK_DUE_S
from hub.console.i18n import N_, Words
from hub.console.render import clock, latency
from hub.engine import Engine
from hub.presence import DeviceRecord
from hub.queries import open_alerts
from hub.roll import CampusRoll, RollEntry
from hub.store import HubStore
from protocol.intervals import LINK_TROUBLE_AFTER_S
from protocol.inventory import Room
from protocol.messages import STAFF_REPORT_KINDS, Directive, EventKind
from protocol.srp import Action, Vocabulary
from protocol.wording import directive_lines, idle_lines

REPORT_WORDS = {EventKind.STAFF_ASSIST: "NEEDS HELP", EventKind.ALL_ACCOUNTED: "All accounted"}


@dataclass(frozen=True)
class Screen:
    """A replica of what the room's display shows now: its newest confirmed directive."""

    term: str
    lines: tuple[str, ...]
    action: str
    drill: bool = False
    link_lost: bool = False


@dataclass(frozen=True)
class Tile:
    room: Room
    directive: Directive | None
    term: str
    ack: str
    """acked, waiting, overdue, none"""
    ack_text: Words
    presence: str
    """online, trouble, offline, none"""
    presence_text: Words
    screen: Screen
    faults: list[str] = field(default_factory=list)
    alert: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    """The room's newest staff press since its directive, unless the roll says it (or
    replaced it): a press the roll refused still shows."""
    roll: RollEntry | None = None
    """The room's roll report for its directive in force (hub.roll)."""
    roll_due: bool = False
    """A directive in force asks the room to account for its people."""
    evacuating: bool = False

    @property
    def needs_help(self) -> bool:
        if self.roll is not None and self.roll.roll.help:
            return True
        return self.report is not None and self.report["kind"] == EventKind.STAFF_ASSIST

    @property
    def unreported(self) -> bool:
        """Evacuated and not yet accounted for: listed first, above the buildings."""
        return self.evacuating and self.roll is None

    @property
    def action(self) -> str:
        return "none" if self.directive is None else self.directive.action.value

    @property
    def in_lockdown(self) -> bool:
        return self.directive is not None and self.directive.action is Action.LOCKDOWN


def screen_of(directive: Directive | None, vocabulary: Vocabulary, *, link_lost: bool) -> Screen:
    if directive is None:
        term, lines = idle_lines(vocabulary)  # the site's first language, as on the wall
        return Screen(term, lines, "none", link_lost=link_lost)
    return Screen(
        term=vocabulary[directive.action].term,
        lines=directive_lines(directive, vocabulary),
        action=directive.action.value,
        drill=directive.drill,
        link_lost=link_lost,
    )


class BoardBuilder:
    def __init__(self, engine: Engine, store: HubStore, *, now: float | None = None) -> None:
        self.engine, self.store = engine, store
        self.inventory, self.vocabulary = engine.presence.inventory, engine.directives.vocabulary
        self.now = time.time() if now is None else now
        self._last_acked = store.last_acked()
        self._shown: dict[int, Directive | None] = {}
        self._alerts: dict[str, dict[str, Any]] = {}
        for alert in open_alerts(store):
            self._alerts.setdefault(alert["room"], alert)  # newest first
        self._reports = store.latest_per_room(kinds=STAFF_REPORT_KINDS)
        self.roll: CampusRoll = engine.roll.campus()

    def tiles(self) -> list[Tile]:
        rooms = sorted(self.inventory.rooms.values(), key=lambda r: (r.building, r.floor, r.id))
        return [self.tile(room) for room in rooms]

    def tile(self, room: Room) -> Tile:
        directive = self.engine.directives.effective(room)
        records = self.engine.presence.devices
        devices = [records[d] for d in self.inventory.devices_in(room.id)]
        presence, presence_text = self._presence(devices)
        ack, ack_text = self._ack(room, directive, presence)
        shown = self._shown_directive(room)
        return Tile(
            room=room,
            directive=directive,
            term="NO DIRECTIVE" if directive is None else self.vocabulary[directive.action].term,
            ack=ack,
            ack_text=ack_text,
            presence=presence,
            presence_text=presence_text,
            screen=screen_of(shown, self.vocabulary, link_lost=presence == "offline"),
            faults=[f"{part}: {why}" for d in devices for part, why in sorted(d.faults.items())],
            alert=self._alerts.get(room.id),
            report=self._report(room, directive),
            roll=self.roll.entries.get(room.id),
            roll_due=self.roll.due(room.id),
            evacuating=self.roll.evacuating(room.id),
        )

    def _presence(self, devices: list[DeviceRecord]) -> tuple[str, Words]:
        if not devices:
            return "none", (N_("No display installed"), {})
        offline = [d for d in devices if not d.online]
        if offline:
            seen = max((d.last_seen or 0.0 for d in offline), default=0.0)
            if not seen:
                return "offline", (N_("OFFLINE"), {})
            return "offline", (N_("OFFLINE, last seen %(at)s"), {"at": clock(seen)})
        silent = self.now - min(d.last_seen or 0.0 for d in devices)
        if silent > LINK_TROUBLE_AFTER_S:
            return "trouble", (N_("Link trouble: silent %(s)s s"), {"s": f"{silent:.0f}"})
        return "online", (N_("Online"), {})

    def _ack(self, room: Room, directive: Directive | None, presence: str) -> tuple[str, Words]:
        if directive is None:
            return "none", (N_("No directive yet"), {})
        ms = self.engine.acks.room_ack_ms(room, directive)
        if ms is not None:
            return "acked", (N_("Confirmed in %(time)s"), {"time": latency(ms)})
        waited = f"{self.now - directive.issued_at:.0f}"
        if presence == "offline":
            return "overdue", (N_("NOT CONFIRMED: display offline"), {})
        if self.now - directive.issued_at > ACK_DUE_S:
            return "overdue", (N_("NOT CONFIRMED after %(s)s s"), {"s": waited})
        return "waiting", (N_("Waiting for the display (%(s)s s)"), {"s": waited})

    def _shown_directive(self, room: Room) -> Directive | None:
        seqs = [self._last_acked.get(d) for d in self.inventory.devices_in(room.id)]
        known = [s for s in seqs if s is not None]
        if not known:
            return None
        seq = min(known)  # with two displays, the one further behind
        if seq not in self._shown:
            self._shown[seq] = self.store.directive(seq)
        return self._shown[seq]

    def _report(self, room: Room, directive: Directive | None) -> dict[str, Any] | None:
        event = self._reports.get(room.id)
        since = self.now - 3600 if directive is None else directive.issued_at
        if event is None or event["received_at"] < since:
            return None
        roll = self.roll.entries.get(room.id)
        if roll is not None and (
            roll.event_id == event["event_id"] or event["received_at"] <= roll.at
        ):
            return None  # the press is the roll's report, or a newer report replaced it
        return event | {"words": REPORT_WORDS[event["kind"]]}


def group_tiles(tiles: list[Tile]) -> list[tuple[str, list[tuple[str, list[Tile]]]]]:
    """Buildings, then floors, then rooms; rooms with an open panic alert, and evacuated
    rooms not yet accounted for, are left out here (the board shows them in their own
    groups at the top)."""
    calm = [t for t in tiles if t.alert is None and not t.unreported]
    grouped = []
    for building, in_building in groupby(calm, key=lambda t: t.room.building):
        floors = [
            (floor, list(on_floor))
            for floor, on_floor in groupby(in_building, key=lambda t: t.room.floor)
        ]
        grouped.append((building, floors))
    return grouped


def board_summary(tiles: list[Tile]) -> dict[str, int]:
    return {
        "rooms": len(tiles),
        "acked": sum(t.ack == "acked" for t in tiles),
        "pending": sum(t.ack in ("waiting", "overdue") for t in tiles),
        "overdue": sum(t.ack == "overdue" for t in tiles),
        "offline": sum(t.presence in ("offline", "trouble") for t in tiles),
        "alerts": sum(t.alert is not None for t in tiles),
        "help": sum(t.needs_help for t in tiles),
        "lockdown": sum(t.in_lockdown for t in tiles),
        "faults": sum(bool(t.faults) for t in tiles),
    }


def campus_states(tiles: list[Tile]) -> list[dict[str, Any]]:
    """How many rooms are under each term (and whether as a drill), most rooms first."""
    counts: dict[tuple[str, str, bool], int] = {}
    for t in tiles:
        key = (t.action, t.term, t.directive is not None and t.directive.drill)
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0][1]))
    return [
        {"action": action, "term": term, "drill": drill, "rooms": n}
        for (action, term, drill), n in ordered
    ]
