"""The roll in the drill report: its timeline, and the time to the last room's report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.directives import DirectiveRequest
from hub.drills import drill_report, find_drills, report_csv
from hub.engine import Engine
from hub.store import HubStore
from protocol.messages import EventKind, Roll
from protocol.srp import Action
from tests.unit.conftest import FakeClock
from tests.unit.factories import event

DEVICES = {"101": "dev-101-a", "102": "dev-102", "gym": "dev-gym"}


@pytest.fixture
def reader(hub_db: Path) -> Iterator[HubStore]:
    store = HubStore(hub_db)
    yield store
    store.close()


def press(engine: Engine, room: str, seq: int, n: int, **roll: Any) -> None:
    kind = EventKind.ROLL if roll else EventKind.ALL_ACCOUNTED
    sent = event(
        event_id=f"evt-{room}-{n}",
        device_id=DEVICES[room],
        room=room,
        kind=kind,
        seq=seq,
        roll=Roll(**({"missing": 0, "extra": 0, "injured": 0, "help": False} | roll))
        if roll
        else None,
    )
    assert engine.events.on_event(DEVICES[room], sent) is True


def report_of(engine: Engine, reader: HubStore) -> dict[str, Any]:
    [drill] = find_drills(reader.directives(), engine.presence.inventory)
    return drill_report(drill, engine, reader)


def test_the_report_has_every_roll_report_and_the_time_to_the_last_room(
    engine: Engine, clock: FakeClock, reader: HubStore
) -> None:
    evacuate = engine.directives.issue(
        DirectiveRequest(action=Action.EVACUATE, drill=True, location="Flag pole"), user="office"
    )
    for offset, room, roll in [
        (30, "102", {}),
        (60, "gym", {"injured": 1}),
        (90, "101", {"missing": 2}),
        (120, "101", {}),  # found them: corrects the count, not the time
    ]:
        clock.now = evacuate.issued_at + offset
        press(engine, room, evacuate.seq, offset, **roll)
    clock.now = evacuate.issued_at + 200
    engine.directives.issue(DirectiveRequest(action=Action.ALL_CLEAR), user="office")

    report = report_of(engine, reader)
    assert report["roll_last_s"] == 90.0 and report["roll_unreported"] == []
    assert [(e["room"], e["offset_s"], e["words"]) for e in report["roll"]] == [
        ("102", 30.0, "All accounted"),
        ("gym", 60.0, "All accounted, 1 injured"),
        ("101", 90.0, "2 missing"),
        ("101", 120.0, "All accounted"),
    ]
    first, all_clear = report["directives"]
    assert first["roll"] | {"rooms": None} == {
        "due": 3,
        "reported": 3,
        "unreported": [],
        "last_report_s": 90.0,
        "rooms": None,
    }
    assert all_clear["roll"] is None  # an All clear asks for no roll

    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    rolls = [r for r in rows if r["result"] == "roll"]
    assert [(r["room"], r["roll_missing"], r["roll_s"], r["roll_by"]) for r in rolls] == [
        ("102", "0", "30.0", "dev-102"),
        ("gym", "0", "60.0", "dev-gym"),
        ("101", "2", "90.0", "dev-101-a"),
        ("101", "0", "120.0", "dev-101-a"),
    ]
    per_room = {
        r["room"]: r["roll_s"] for r in rows if r not in rolls and r["seq"] == str(evacuate.seq)
    }
    assert per_room == {"101": "90.0", "102": "30.0", "gym": "60.0"}  # each room's first


def test_a_room_that_never_reported_leaves_the_time_open(
    engine: Engine, clock: FakeClock, reader: HubStore
) -> None:
    lockdown = engine.directives.issue(
        DirectiveRequest(action=Action.LOCKDOWN, drill=True), user="office"
    )
    clock.advance(45)
    press(engine, "gym", lockdown.seq, 1)
    report = report_of(engine, reader)
    assert report["roll_last_s"] is None
    assert report["roll_unreported"] == ["101", "102"]
    assert report["directives"][0]["roll"]["reported"] == 1
