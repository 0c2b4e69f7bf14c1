"""Where a drill starts and ends, from the directive record alone; the debrief's CSV and chart."""

from __future__ import annotations

import csv
import io
from typing import Any

from hub.console.chart import drill_chart
from hub.drills import NO_ACK, SUPERSEDED, find_drills, report_csv
from protocol.inventory import Inventory
from protocol.messages import Directive
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.factories import T0, directive


def _series(*specs: tuple[Action, bool] | tuple[Action, bool, ScopeKind, str]) -> list[Directive]:
    found = []
    for seq, spec in enumerate(specs, start=1):
        action, drill, *where = spec
        scope, target = (where[0], where[1]) if where else (ScopeKind.SITE, "")
        found.append(
            directive(
                seq=seq,
                issued_at=T0 + 10 * seq,
                action=action,
                drill=drill,
                scope=scope,
                target=target,
            )
        )
    return found


def test_a_drill_runs_from_the_first_drill_directive_to_the_all_clear(
    inventory: Inventory,
) -> None:
    record = _series(
        (Action.HOLD, False),  # real, before: not part of any drill
        (Action.ALL_CLEAR, False),
        (Action.LOCKDOWN, True),
        (Action.RELEASE, True, ScopeKind.ROOM, "101"),
        (Action.ALL_CLEAR, True),
        (Action.SECURE, True),
    )
    first, second = find_drills(record, inventory)
    assert [d.seq for d in first.directives] == [3, 4, 5]
    assert (first.id, first.ended_by, first.ended_at) == (3, "all clear", T0 + 50)
    assert first.title == "Lockdown drill"
    assert (second.id, second.ended_by, second.ended_at) == (6, None, None)


def test_a_building_all_clear_leaves_the_drill_running_elsewhere(inventory: Inventory) -> None:
    record = _series(
        (Action.LOCKDOWN, True),
        (Action.ALL_CLEAR, True, ScopeKind.BUILDING, "annex"),
        (Action.ALL_CLEAR, True, ScopeKind.BUILDING, "main"),
    )
    [drill] = find_drills(record, inventory)
    assert [d.seq for d in drill.directives] == [1, 2, 3]
    assert drill.ended_by == "all clear"


def test_a_real_directive_interrupts_a_drill(inventory: Inventory) -> None:
    record = _series((Action.HOLD, True), (Action.LOCKDOWN, False), (Action.ALL_CLEAR, False))
    [drill] = find_drills(record, inventory)
    assert [d.seq for d in drill.directives] == [1]
    assert (drill.ended_by, drill.ended_at) == ("real directive", T0 + 20)


def test_no_drill_without_a_drill_directive(inventory: Inventory) -> None:
    assert find_drills(_series((Action.LOCKDOWN, False), (Action.ALL_CLEAR, True)), inventory) == []


def _report() -> dict[str, Any]:
    rows = [
        {
            "seq": 7,
            "offset_s": 0.0,
            "term": "LOCKDOWN",
            "action": "lockdown",
            "drill": True,
            "scope": "site",
            "target": "",
            "issued_by": "=HYPERLINK()",
            "rooms": {"101": 120.0, "102": NO_ACK, "gym": SUPERSEDED},
            "offline_at_issue": ["102"],
        },
        {
            "seq": 8,
            "offset_s": 30.0,
            "term": "RELEASED",
            "action": "release",
            "drill": True,
            "scope": "room",
            "target": "101",
            "issued_by": "office",
            "rooms": {"101": 2500.0},
            "offline_at_issue": None,
        },
    ]
    return {"id": 7, "directives": rows}


def test_the_csv_has_one_row_per_directive_and_room_and_defuses_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(_report()))))
    assert [(r["seq"], r["room"], r["result"], r["ack_ms"]) for r in rows] == [
        ("7", "101", "acked", "120.0"),
        ("7", "102", "no ack", ""),
        ("7", "gym", "superseded", ""),
        ("8", "101", "acked", "2500.0"),
    ]
    assert [r["offline_at_issue"] for r in rows] == ["no", "yes", "no", "unknown"]
    assert rows[0]["issued_by"] == "'=HYPERLINK()"


def test_the_chart_has_a_row_per_room_and_a_cell_per_directive() -> None:
    chart = drill_chart(_report(), ["101", "102", "gym"])
    assert [room for _, room in chart.rows] == ["101", "102", "gym"]
    assert [c.title for c in chart.columns] == ["#7 LOCKDOWN", "#8 RELEASED"]
    kinds = [cell.kind for cell in chart.cells]
    assert kinds == ["fast", "slow", "missed", "out", "superseded", "out"]
    fast, slow = chart.cells[0], chart.cells[1]
    assert fast.bar < slow.bar and slow.text == "2.5 s"
