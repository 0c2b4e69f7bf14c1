"""The roll: a room's report for the directive it answers, bounded, checked, replaced by a
later one, and every one kept on record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.console.board import BoardBuilder
from hub.directives import DirectiveRequest
from hub.engine import Engine
from hub.errors import Conflict, NotFound
from hub.queries import campus_status
from hub.roll import RollEntry, Sender, roll_words
from hub.store import HubStore
from protocol.codec import DecodeError, decode, encode
from protocol.messages import (
    ALL_ACCOUNTED,
    MAX_HEADCOUNT,
    NEEDS_HELP,
    Directive,
    Event,
    EventKind,
    MessageError,
    Roll,
)
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.conftest import FakeClock, MakeEngine
from tests.unit.factories import event


def issue(engine: Engine, action: Action = Action.LOCKDOWN, **fields: object) -> Directive:
    return engine.directives.issue(DirectiveRequest(action=action, **fields), user="office")  # type: ignore[arg-type]


def headcount(**counts: int | bool | None) -> Roll:
    fields: dict[str, int | bool | None] = {"missing": 0, "extra": 0, "injured": 0, "help": False}
    return Roll(**(fields | counts))  # type: ignore[arg-type]


@pytest.fixture
def reader(hub_db: Path) -> Iterator[HubStore]:
    """A second connection to the hub's file, to see what was really written."""
    store = HubStore(hub_db)
    yield store
    store.close()


def report(event_id: str, kind: EventKind, seq: int | None, **fields: object) -> Event:
    device = fields.pop("device_id", "dev-102")
    room = fields.pop("room", "102")
    return event(event_id=event_id, device_id=device, room=room, kind=kind, seq=seq, **fields)


# -- the model and its wire form --------------------------------------------------------------


def test_a_roll_round_trips_on_the_wire_inside_an_event() -> None:
    sent = report("evt-r1", EventKind.ROLL, 7, roll=headcount(missing=2, injured=1, help=True))
    payload = encode(sent)
    assert json.loads(payload)["roll"] == {"missing": 2, "extra": 0, "injured": 1, "help": True}
    assert decode(payload, Event) == sent


@pytest.mark.parametrize(
    ("roll", "reason"),
    [
        ({"missing": True, "extra": 0, "injured": 0, "help": False}, "must be int, not bool"),
        ({"missing": -1, "extra": 0, "injured": 0, "help": False}, "outside 0-1000"),
        ({"missing": 0, "extra": MAX_HEADCOUNT + 1, "injured": 0, "help": False}, "outside"),
        ({"missing": 0, "extra": 0, "injured": 2**70, "help": False}, "64-bit"),
        ({"missing": 1.0, "extra": 0, "injured": 0, "help": False}, "must be int, not float"),
        ({"missing": 0, "extra": 0, "injured": 0}, "missing field 'help'"),
        ({"missing": 0, "extra": 0, "injured": 0, "help": False, "names": "x"}, "unknown"),
        ([0, 0, 0, False], "must be an object"),
        ({"missing": 0, "extra": 0, "injured": 0, "help": 1}, "must be bool"),
    ],
)
def test_every_number_a_device_sends_is_bounded(roll: object, reason: str) -> None:
    body = json.loads(encode(report("evt-r1", EventKind.ROLL, 7, roll=headcount())))
    body["roll"] = roll
    with pytest.raises(DecodeError, match=reason):
        decode(json.dumps(body).encode(), Event)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": EventKind.PANIC, "seq": 3}, "names no directive"),
        ({"kind": EventKind.ALL_ACCOUNTED, "seq": 0}, "positive"),
        ({"kind": EventKind.ALL_ACCOUNTED, "seq": 3, "roll": headcount()}, "only a roll event"),
        ({"kind": EventKind.ROLL, "seq": 3}, "carries a roll"),
        ({"kind": EventKind.ROLL, "roll": headcount()}, "names the directive"),
    ],
)
def test_a_roll_is_carried_only_by_the_events_that_report_one(
    fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(MessageError, match=reason):
        event(event_id="evt-x", **fields)


def test_the_buttons_imply_their_report_and_a_headcount_says_its_own() -> None:
    assert Roll.of(report("e1", EventKind.ALL_ACCOUNTED, 1)) == ALL_ACCOUNTED
    assert Roll.of(report("e2", EventKind.STAFF_ASSIST, 1)) == NEEDS_HELP
    counted = headcount(missing=3)
    assert Roll.of(report("e3", EventKind.ROLL, 1, roll=counted)) == counted
    assert Roll.of(report("e4", EventKind.PANIC, None)) is None
    assert ALL_ACCOUNTED.all_accounted and not NEEDS_HELP.all_accounted


def test_the_office_reads_a_roll_in_a_few_words() -> None:
    assert roll_words(ALL_ACCOUNTED) == "All accounted"
    assert roll_words(NEEDS_HELP) == "NEEDS HELP"
    assert roll_words(headcount(missing=2, extra=1, injured=1, help=True)) == (
        "2 missing, 1 extra, 1 injured, NEEDS HELP"
    )
    assert roll_words(headcount(injured=1)) == "All accounted, 1 injured"
    assert roll_words(Roll(missing=None, extra=None, injured=None, help=False)) == (
        "Reported, nothing counted"
    )


# -- the hub's roll -----------------------------------------------------------------------------


def test_a_button_report_counts_for_the_directive_on_the_screen(engine: Engine) -> None:
    lockdown = issue(engine)
    assert engine.events.on_event("dev-102", report("e1", EventKind.ALL_ACCOUNTED, lockdown.seq))
    roll = engine.roll.campus()
    assert roll.entries["102"].roll == ALL_ACCOUNTED
    assert roll.entries["102"].by == Sender("device", "dev-102")
    totals = roll.totals()
    assert (totals["in_scope"], totals["reported"], totals["all_accounted"]) == (3, 1, 1)
    assert totals["unreported"] == ["gym", "101"]  # board order: annex, then main


def test_a_later_report_replaces_the_earlier_and_both_stay_on_record(
    engine: Engine, clock: FakeClock
) -> None:
    seq = issue(engine).seq
    engine.events.on_event("dev-102", report("e1", EventKind.ALL_ACCOUNTED, seq))
    clock.advance(30)
    counted = headcount(missing=2, injured=1, help=True)
    engine.events.on_event("dev-102", report("e2", EventKind.ROLL, seq, roll=counted))
    now = engine.roll.campus()
    assert now.entries["102"].roll == counted
    assert now.totals() | {"unreported": []} == {
        "in_scope": 3,
        "reported": 1,
        "all_accounted": 0,
        "missing": 2,
        "extra": 0,
        "injured": 1,
        "help": 1,
        "unreported": [],
    }
    history = engine.roll.reports([seq])
    assert [(e.event_id, e.at - history[0].at) for e in history] == [("e1", 0), ("e2", 30)]


def test_a_resent_event_is_not_a_second_report(engine: Engine) -> None:
    seq = issue(engine).seq
    sent = report("e1", EventKind.STAFF_ASSIST, seq)
    assert engine.events.on_event("dev-102", sent) is True
    assert engine.events.on_event("dev-102", sent) is False
    assert len(engine.roll.reports([seq])) == 1


def test_a_report_for_another_room_is_refused_and_counted(engine: Engine) -> None:
    seq = issue(engine).seq
    claimed = report("e1", EventKind.ROLL, seq, room="gym", roll=headcount(missing=9))
    assert engine.events.on_event("dev-102", claimed) is True  # the event itself stands
    assert engine.rejected.counts["roll for another room"] == 1
    assert engine.roll.campus().entries == {}
    assert engine.roll.reports([seq]) == []


def test_a_report_must_answer_a_directive_issued_to_the_room_and_in_force(
    engine: Engine,
) -> None:
    gym_only = issue(engine, Action.HOLD, scope=ScopeKind.ROOM, target="gym")
    cases = [
        (gym_only.seq + 50, "roll of no directive"),
        (gym_only.seq, "roll outside its room"),
    ]
    ended = issue(engine, Action.ALL_CLEAR)
    cases.append((ended.seq, "roll of no directive in force"))
    for index, (seq, reason) in enumerate(cases):
        engine.events.on_event("dev-102", report(f"e{index}", EventKind.ALL_ACCOUNTED, seq))
        assert engine.rejected.counts[reason] == 1, reason
    assert engine.roll.reports(range(1, gym_only.seq + 60)) == []


def test_a_press_with_nothing_on_the_screen_is_a_staff_report_only(engine: Engine) -> None:
    assert engine.events.on_event("dev-102", report("e1", EventKind.STAFF_ASSIST, None))
    assert engine.roll.campus().scope == {}
    assert sum(engine.rejected.counts.values()) == 0


def test_a_late_report_for_an_older_directive_is_kept_but_not_in_the_roll_now(
    engine: Engine,
) -> None:
    hold = issue(engine, Action.HOLD)
    issue(engine, Action.EVACUATE, location="Flag pole")
    engine.events.on_event("dev-102", report("e1", EventKind.ALL_ACCOUNTED, hold.seq))
    assert [e.seq for e in engine.roll.reports([hold.seq])] == [hold.seq]
    assert engine.roll.campus().entries == {}


def test_after_an_evacuate_rooms_not_reported_come_first(engine: Engine) -> None:
    issue(engine, Action.SECURE, scope=ScopeKind.BUILDING, target="main")
    evacuate = issue(
        engine, Action.EVACUATE, scope=ScopeKind.BUILDING, target="annex", location="Lot"
    )
    roll = engine.roll.campus()
    assert roll.unreported == ["gym", "101", "102"]
    assert roll.evacuating("gym") and not roll.evacuating("101")
    gym = report("e1", EventKind.ALL_ACCOUNTED, evacuate.seq, device_id="dev-gym", room="gym")
    engine.events.on_event("dev-gym", gym)
    assert engine.roll.campus().unreported == ["101", "102"]


def test_a_person_reports_with_their_user_id_and_the_audit_log_says_so(
    engine: Engine, reader: HubStore
) -> None:
    seq = issue(engine, Action.EVACUATE, location="Flag pole").seq
    entry = engine.roll.report("101", seq, headcount(missing=1), user="ms-rivera")
    assert isinstance(entry, RollEntry) and entry.by == Sender("user", "ms-rivera")
    assert engine.roll.campus().entries["101"].roll.missing == 1
    (audited,) = [a for a in reader.audit_log() if a["action"] == "roll report"]
    assert audited["user"] == "ms-rivera"
    with pytest.raises(NotFound):
        engine.roll.report("101", seq + 9, headcount(), user="ms-rivera")
    with pytest.raises(NotFound):
        engine.roll.report("999", seq, headcount(), user="ms-rivera")
    issue(engine, Action.ALL_CLEAR)
    with pytest.raises(Conflict):
        engine.roll.report("101", seq + 1, headcount(), user="ms-rivera")


def test_a_restarted_hub_reads_the_roll_back(make_engine: MakeEngine) -> None:
    first = make_engine()
    seq = issue(first).seq
    first.events.on_event("dev-102", report("e1", EventKind.STAFF_ASSIST, seq))
    again = make_engine().roll.campus()
    assert again.entries["102"].roll == NEEDS_HELP


def test_the_status_carries_the_roll_per_room_and_in_totals(
    engine: Engine, reader: HubStore
) -> None:
    seq = issue(engine).seq
    engine.events.on_event("dev-102", report("e1", EventKind.STAFF_ASSIST, seq))
    status = campus_status(engine, reader, connected=True)
    assert status["roll"]["reported"] == 1 and status["roll"]["help"] == 1
    rooms = {r["room"]: r for r in status["rooms"]}
    assert rooms["102"]["roll"]["words"] == "NEEDS HELP"
    assert rooms["102"]["roll"]["by"] == "dev-102"
    assert rooms["101"]["roll"] is None and rooms["101"]["roll_due"] is True


def test_the_tile_says_a_report_once_and_a_later_one_replaces_a_call_for_help(
    engine: Engine, reader: HubStore, clock: FakeClock
) -> None:
    seq = issue(engine, Action.EVACUATE, location="Flag pole").seq
    engine.events.on_event("dev-102", report("e1", EventKind.STAFF_ASSIST, seq))
    tile = BoardBuilder(engine, reader).tile(engine.presence.room("102"))
    assert tile.roll is not None and tile.roll.words == "NEEDS HELP"
    assert tile.report is None and tile.needs_help and not tile.unreported
    clock.advance(60)  # help came: the teacher's page reports all accounted
    engine.roll.report("102", seq, headcount(), user="ms-rivera")
    tile = BoardBuilder(engine, reader).tile(engine.presence.room("102"))
    assert tile.roll is not None and tile.roll.words == "All accounted"
    assert tile.report is None and not tile.needs_help
    # A press the roll refuses (for another room) still reaches the board as a staff report.
    clock.advance(5)
    engine.events.on_event("dev-102", report("e2", EventKind.STAFF_ASSIST, seq, room="gym"))
    tile = BoardBuilder(engine, reader).tile(engine.presence.room("102"))
    assert tile.report is not None and tile.report["event_id"] == "e2" and tile.needs_help
    gym = BoardBuilder(engine, reader).tile(engine.presence.room("gym"))
    assert gym.unreported and gym.roll is None
