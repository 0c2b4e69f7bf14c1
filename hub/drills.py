"""Drills and their debrief, derived from the directive record (nothing to start or stop).

A drill begins with the first drill directive (Hold, Secure, Lockdown, Evacuate or Shelter
with the drill flag) while no drill is running. Every directive after it belongs to the drill
(room releases, further drill directives, the All clear) until either

- an All clear after which no room's effective directive is still a drill one: the drill
  ended normally, that All clear included; or
- a *real* directive (not All clear or a release): a real event interrupted the drill,
  which ends there; the real directive is not part of it.

A drill's id is the sequence number of its first directive, so ids are stable and never
reused. Presence at issue time (which displays were offline) is recorded by the engine as it
issues each directive (:meth:`hub.directives.Directives.issue`).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub.drill_roll import roll_debrief
from hub.engine import Engine
from hub.relay.store import RELAYED_EVENT_KINDS
from hub.relay.views import HandOffs
from hub.stats import summary
from hub.store import HubStore
from protocol.inventory import Inventory, Room
from protocol.messages import ALERT_KINDS, STAFF_REPORT_KINDS, Directive
from protocol.rules import DirectiveBook
from protocol.srp import Action, is_idle

NO_ACK = "no ack"
SUPERSEDED = "superseded"
"""The room never showed this directive because a newer one reached it first: not a miss."""


@dataclass(frozen=True)
class Drill:
    directives: tuple[Directive, ...]
    ended_by: str | None
    """"all clear", "real directive", or None while the drill is running."""
    ended_at: float | None

    @property
    def id(self) -> int:
        return self.directives[0].seq

    @property
    def started_at(self) -> float:
        return self.directives[0].issued_at

    @property
    def title(self) -> str:
        first = self.directives[0]
        return f"{first.action.value.replace('_', ' ').title()} drill"


def find_drills(directives: Iterable[Directive], inventory: Inventory) -> list[Drill]:
    """Split the directive record into drills, oldest first (see the module docstring)."""
    book, drills = DirectiveBook(), []
    current: list[Directive] | None = None
    for directive in sorted(directives, key=lambda d: d.seq):
        book.offer(directive)
        if current is None:
            if directive.drill and not is_idle(directive.action):
                current = [directive]
        elif not directive.drill and not is_idle(directive.action):
            drills.append(Drill(tuple(current), "real directive", directive.issued_at))
            current = None
        else:
            current.append(directive)
            if directive.action is Action.ALL_CLEAR and not _drill_running(book, inventory):
                drills.append(Drill(tuple(current), "all clear", directive.issued_at))
                current = None
    if current is not None:
        drills.append(Drill(tuple(current), None, None))
    return drills


def _drill_running(book: DirectiveBook, inventory: Inventory) -> bool:
    for room in inventory.rooms.values():
        effective = book.effective(room=room.id, building=room.building)
        if effective is not None and effective.drill and not is_idle(effective.action):
            return True
    return False


def find_drill(drill_id: int, store: HubStore, inventory: Inventory) -> Drill | None:
    for drill in find_drills(store.directives(limit=1_000_000), inventory):
        if drill.id == drill_id:
            return drill
    return None


def _room_results(engine: Engine, drill: Drill) -> list[dict[str, float | str | None]]:
    """Per directive: room id -> ack ms, SUPERSEDED or NO_ACK (rooms out of scope absent)."""
    results: list[dict[str, float | str | None]] = []
    for index, directive in enumerate(drill.directives):
        row: dict[str, float | str | None] = {}
        for room in engine.directives.rooms_in(directive):
            ms = engine.acks.room_ack_ms(room, directive)
            if ms is not None:
                row[room.id] = round(ms, 1)
            elif _acked_later(engine, room, drill.directives[index + 1 :]):
                row[room.id] = SUPERSEDED
            else:
                row[room.id] = NO_ACK
        results.append(row)
    return results


def _acked_later(engine: Engine, room: Room, later: Iterable[Directive]) -> bool:
    return any(
        room in engine.directives.rooms_in(d) and engine.acks.room_ack_ms(room, d) is not None
        for d in later
    )


def _offline_at_issue(store: HubStore, engine: Engine, directive: Directive) -> list[str] | None:
    presence = store.presence(directive.seq)
    if not presence:
        return None  # issued before presence was recorded
    in_scope = {room.id for room in engine.directives.rooms_in(directive)}
    devices = engine.presence.devices
    offline = {devices[d].room for d, online in presence.items() if not online and d in devices}
    return sorted(offline & in_scope)


def drill_report(drill: Drill, engine: Engine, store: HubStore) -> dict[str, Any]:
    """Everything the debrief shows: per directive and room, latencies, misses, alerts."""
    results = _room_results(engine, drill)
    roll = roll_debrief(
        engine, drill.directives, results, started_at=drill.started_at, superseded=SUPERSEDED
    )
    rows = [
        _directive_row(engine, store, drill, directive, result)
        | {"roll": roll["directives"][directive.seq]}
        for directive, result in zip(drill.directives, results, strict=True)
    ]
    measured = [ms for result in results for ms in result.values() if isinstance(ms, float)]
    missed = sorted({room for result in results for room, v in result.items() if v == NO_ACK})
    offline = sorted({room for row in rows for room in row["offline_at_issue"] or []})
    until = drill.ended_at or time.time()
    return {
        "id": drill.id,
        "title": drill.title,
        "started_at": drill.started_at,
        "ended_at": drill.ended_at,
        "ended_by": drill.ended_by,
        "duration_s": round(until - drill.started_at, 1),
        "directives": rows,
        "ack_ms": summary(measured),
        "acks": len(measured),
        "never_acked": missed,
        "offline_rooms": offline,
        "alerts": store.events_between(kinds=ALERT_KINDS, since=drill.started_at, until=until),
        "reports": store.events_between(
            kinds=STAFF_REPORT_KINDS, since=drill.started_at, until=until
        ),
        "roll": roll["timeline"],
        "roll_last_s": roll["last_report_s"],
        "roll_unreported": roll["unreported"],
    }


def _directive_row(
    engine: Engine,
    store: HubStore,
    drill: Drill,
    directive: Directive,
    result: dict[str, float | str | None],
) -> dict[str, Any]:
    measured = [ms for ms in result.values() if isinstance(ms, float)]
    return {
        "seq": directive.seq,
        "issued_at": directive.issued_at,
        "offset_s": round(directive.issued_at - drill.started_at, 1),
        "action": directive.action.value,
        "term": engine.directives.vocabulary[directive.action].term,
        "drill": directive.drill,
        "scope": directive.scope.value,
        "target": directive.target,
        "issued_by": directive.issued_by,
        "total": len(result),
        "acked": len(measured),
        "ack_ms": summary(measured),
        "rooms": result,
        "offline_at_issue": _offline_at_issue(store, engine, directive),
    }


EVENT_WORDS = {"panic": "PANIC ALERT", "cancel": "Panic cancelled", "staff_assist": "Needs help"}


def drill_handoffs(report: dict[str, Any], handoffs: HandOffs | None) -> list[dict[str, Any]]:
    """The hand-offs of the drill's records (its directives, the presses during it), in time
    order, one row per record and destination; none without a relay."""
    if handoffs is None:
        return []
    records = [
        (d["issued_at"], f"directive:{d['seq']}", f"#{d['seq']} {d['term']}", d["seq"])
        for d in report["directives"]
    ]
    records += [
        (
            e["received_at"],
            f"event:{e['event_id']}",
            f"{EVENT_WORDS[e['kind']]}, room {e['room']}",
            "",
        )
        for e in report["alerts"] + report["reports"]
        if e["kind"] in RELAYED_EVENT_KINDS
    ]
    records.sort(key=lambda record: record[0])
    found = handoffs.deliveries([key for _, key, _, _ in records])
    return [
        delivery | {"key": key, "at": at, "what": what, "seq": seq}
        for at, key, what, seq in records
        for delivery in found[key]
    ]


def _event_words(event: dict[str, Any]) -> str:
    return f"{EVENT_WORDS[event['kind']]}, room {event['room']}"


CSV_COLUMNS = (
    "drill",
    "seq",
    "offset_s",
    "term",
    "drill_flag",
    "scope",
    "target",
    "issued_by",
    "room",
    "result",
    "ack_ms",
    "offline_at_issue",
    "destination",
    "handoff_ms",
    "roll_missing",
    "roll_extra",
    "roll_injured",
    "roll_help",
    "roll_by",
    "roll_s",
)
"""The ``roll_*`` columns are filled on the roll's rows (``result`` "roll": one per report,
``roll_s`` from its directive's issue) and ``roll_s`` also on a directive and room's row
(the room's first report for that directive)."""


def report_csv(report: dict[str, Any]) -> str:
    """One row per directive and room in its scope: the debrief's raw numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["directives"]:
        offline = row["offline_at_issue"]
        reported = (row.get("roll") or {}).get("rooms", {})
        for room, value in sorted(row["rooms"].items()):
            cells = [
                report["id"],
                row["seq"],
                row["offset_s"],
                row["term"],
                "drill" if row["drill"] else "REAL",
                row["scope"],
                row["target"],
                row["issued_by"],
                room,
                "acked" if isinstance(value, float) else value,
                value if isinstance(value, float) else "",
                "unknown" if offline is None else ("yes" if room in offline else "no"),
            ]
            roll_s = reported.get(room, "")
            writer.writerow([_cell(cell) for cell in [*cells, "", "", "", "", "", "", "", roll_s]])
    _roll_rows(writer, report)
    for handoff in report.get("handoffs", []):
        cells = [report["id"], handoff["seq"], round(handoff["at"] - report["started_at"], 1)]
        cells += [handoff["what"], "", "", "", "", "", handoff["state"], "", ""]
        cells += [handoff["destination"], handoff["duration_ms"] or "", "", "", "", "", "", ""]
        writer.writerow([_cell(cell) for cell in cells])
    return out.getvalue()


def _roll_rows(writer: Any, report: dict[str, Any]) -> None:
    """One row per roll report of the drill, in time order (every one, replaced or not)."""
    for entry in report.get("roll", []):
        cells: list[object] = [report["id"], entry["seq"], entry["offset_s"], entry["term"]]
        cells += ["", "", "", "", entry["room"], "roll", "", "", "", ""]
        counts = [entry[k] if entry[k] is not None else "" for k in ("missing", "extra", "injured")]
        cells += [*counts, "yes" if entry["help"] else "no", entry["by"], entry["after_issue_s"]]
        writer.writerow([_cell(cell) for cell in cells])


def _cell(value: object) -> object:
    """Defuse spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
