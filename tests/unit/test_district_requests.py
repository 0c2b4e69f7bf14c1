"""The district's side of a district action on a real SQLite file: the preview (schools
named and grouped, rooms counted, the schools the count may be short of, SRP precedence
warnings, the words confirmed) and the record of requests sent, kept from the summaries."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from district.board import DistrictBoard
from district.preview import PreviewError, preview
from district.requests import DistrictAction, send, settled
from district.store import DistrictStore
from protocol.codec import encode
from protocol.district import DistrictSummary, RequestOutcome, SummaryDirective
from protocol.srp import Action
from protocol.topics import DistrictChannel, ScopeKind, Topics
from tests.unit import test_district_board as board_tests
from tests.unit.conftest import FakeClock
from tests.unit.factories import T0
from transport.endpoint import BrokerEndpoint
from transport.link import Link

SCHOOLS = ("lincoln", "adams", "grant")
store = board_tests.store  # the fixture: a DistrictStore on a real SQLite file
GROUPS = {"near-elm": ("adams", "lincoln")}


def summary(site: str = "lincoln", **changes: object) -> DistrictSummary:
    return board_tests.summary(site=site, **changes)


def directive(**changes: object) -> SummaryDirective:
    fields: dict[str, object] = {
        "seq": 4, "action": Action.LOCKDOWN, "scope": ScopeKind.SITE, "drill": False,
        "issued_at": T0, "confirmed": 3, "total": 3,
    }  # fmt: skip
    return SummaryDirective(**(fields | changes))  # type: ignore[arg-type]


def action(what: Action = Action.SECURE, **changes: object) -> DistrictAction:
    fields: dict[str, object] = {
        "action": what,
        "drill": True,
        "schools": ("lincoln",),
        "issued_by": "safety-kim",
    }
    return DistrictAction(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture
def board(store: DistrictStore, clock: FakeClock) -> DistrictBoard:
    return DistrictBoard(store=store, schools=SCHOOLS, clock=clock)


def arrive(board: DistrictBoard, made: DistrictSummary, *, on: str | None = None) -> None:
    board.on_message(Topics(on or made.site).district(DistrictChannel.SUMMARY), encode(made))


def test_the_preview_counts_rooms_of_the_schools_named_and_the_group_each_once(
    board: DistrictBoard, clock: FakeClock
) -> None:
    arrive(board, summary(rooms=24))
    arrive(board, summary("adams", rooms=18))
    shown = preview(action(group="near-elm"), board, groups=GROUPS)
    assert shown.schools == ("lincoln", "adams")
    assert (shown.rooms, shown.unknown_rooms, shown.unreachable) == (42, (), ())
    assert shown.words.splitlines() == [
        "DRILL: SECURE for 2 school(s) (group near-elm):",
        "  lincoln: 24 rooms",
        "  adams: 18 rooms",
        "42 rooms in all. Every other school is left alone.",
    ]
    body = shown.as_json()
    assert json.loads(json.dumps(body)) == body
    real = preview(action(drill=False), board)
    assert real.words.startswith("REAL - NOT A DRILL: SECURE for 1 school(s):")
    assert real.shown() != shown.shown()


def test_the_preview_refuses_unknown_schools_groups_and_nothing_named(
    board: DistrictBoard,
) -> None:
    with pytest.raises(PreviewError, match=r"not schools of this district: nowhere \(schools"):
        preview(action(schools=("lincoln", "nowhere")), board)
    with pytest.raises(PreviewError, match="no group 'far' in this district"):
        preview(action(group="far"), board, groups=GROUPS)
    with pytest.raises(PreviewError, match="no school named"):
        preview(action(schools=()), board)
    with pytest.raises(PreviewError, match="cannot be issued"):
        preview(action(Action.SHELTER), board)  # a Shelter needs its hazard


def test_the_preview_names_the_schools_it_cannot_count_or_reach(
    board: DistrictBoard, clock: FakeClock
) -> None:
    arrive(board, summary(rooms=24))
    clock.advance(60)  # two heartbeats without a word: unreachable
    arrive(board, summary("adams", rooms=18))
    shown = preview(action(schools=("lincoln", "adams", "grant")), board)
    assert (shown.rooms, shown.unknown_rooms, shown.unreachable) == (
        42,
        ("grant",),
        ("lincoln", "grant"),
    )
    assert "lincoln: UNREACHABLE (nothing new from it for over 20 s)" in shown.warnings[0]
    assert "lincoln: its summary is STALE" in shown.warnings[1]
    assert "  lincoln: 24 rooms (summary 60 s old: STALE)" in shown.words
    assert any(w.startswith("grant: UNREACHABLE (no live message") for w in shown.warnings)
    assert "42 rooms in all (not counted: grant, no summary yet)." in shown.words
    assert "  grant: rooms unknown (no summary yet)" in shown.words
    board.on_message(Topics("adams").district(DistrictChannel.BRIDGE), b"0")
    cut = preview(action(schools=("adams",)), board)
    assert cut.unreachable == ("adams",) and cut.rooms == 18
    assert cut.warnings[0].startswith("adams: UNREACHABLE (bridge down)")


def test_the_preview_warns_where_precedence_keeps_rooms_as_they_are(
    board: DistrictBoard,
) -> None:
    room_lockdown = directive(scope=ScopeKind.ROOM, target="101", total=1, confirmed=1)
    district_secure = directive(seq=5, action=Action.SECURE, total=2, confirmed=2, request="r-1")
    arrive(board, summary(directives=(room_lockdown, district_secure), in_force=3, confirmed=3))
    hold = preview(action(Action.HOLD, drill=False), board)
    (kept, lower) = hold.per_school[0].warnings
    assert kept.startswith(
        "LOCKDOWN #4 (room 101) (the school's own) in 1 room(s): those rooms stay"
    )
    assert lower.startswith("SECURE #5 (district request r-1) in 2 room(s): those rooms stay")
    assert "in force now: LOCKDOWN #4 (room 101) (the school's own) in 1 room(s)" in hold.words
    assert "    ! LOCKDOWN #4" in hold.words
    # The school's own directive: a district All clear is refused; the district's ends.
    clear = preview(action(Action.ALL_CLEAR, drill=False), board)
    (own,) = clear.per_school[0].warnings
    assert "the school will refuse this ALL CLEAR" in own and "LOCKDOWN #4" in own
    # A Lockdown of the whole school: the school refuses a Hold to the school.
    arrive(board, summary(seq=6, directives=(directive(),), in_force=3, confirmed=3))
    (refused,) = preview(action(Action.HOLD), board).per_school[0].warnings
    assert "the school will refuse this HOLD" in refused
    assert preview(action(Action.LOCKDOWN), board).per_school[0].warnings == ()


def test_the_preview_warns_when_an_all_clear_does_not_say_drill_as_what_it_ends(
    board: DistrictBoard,
) -> None:
    drill = directive(action=Action.SECURE, drill=True, request="r-1")
    arrive(board, summary(directives=(drill,), in_force=3, confirmed=3))
    (real,) = preview(action(Action.ALL_CLEAR, drill=False), board).per_school[0].warnings
    assert real == "a DRILL is in force: the school will refuse this ALL CLEAR unless it says so"
    assert preview(action(Action.ALL_CLEAR, drill=True), board).per_school[0].warnings == ()
    both = (drill, directive(seq=7, action=Action.HOLD, total=1, confirmed=1, request="r-2"))
    arrive(board, summary(seq=6, directives=both, in_force=3, confirmed=3))
    (mixed,) = preview(action(Action.ALL_CLEAR), board).per_school[0].warnings
    assert mixed.startswith("drill and real directives are both in force")


def test_a_request_sent_is_recorded_with_the_schools_it_could_not_reach_and_survives_a_restart(
    tmp_path: Path, board: DistrictBoard, store: DistrictStore, clock: FakeClock
) -> None:
    arrive(board, summary(rooms=3))
    offline = Link([BrokerEndpoint(host="127.0.0.1", port=1)], client_id="t", will=None)
    shown = preview(action(group="near-elm", details={"note": "Police on Elm St"}), board,
                    groups=GROUPS)  # fmt: skip
    request_id = send(shown, link=offline, key=Ed25519PrivateKey.generate(), store=store,
                      district="metro", clock=clock)  # fmt: skip
    store.close()
    again = DistrictStore(tmp_path / "district.db")
    try:
        (found,) = again.requests(limit=5)
        assert found == again.request(request_id)
    finally:
        again.close()
    assert (found["id"], found["issued_by"], found["action"], found["drill"]) == (
        request_id, "safety-kim", "secure", True,
    )  # fmt: skip
    assert (found["group"], found["details"]) == ("near-elm", {"note": "Police on Elm St"})
    assert list(found["schools"]) == ["lincoln", "adams"]  # never grant
    assert all(o["state"] == "no answer" and not o["sent"] for o in found["schools"].values())


def recorded(store: DistrictStore, request_id: str = "r-1") -> None:
    store.add_request(
        {"id": request_id, "sent_at": T0, "issued_by": "kim", "action": "secure",
         "scope": "site", "target": "", "drill": True, "details": {}, "group": None},
        ["lincoln", "adams"],
    )  # fmt: skip


def test_each_summary_updates_its_own_schools_outcomes_only(
    board: DistrictBoard, store: DistrictStore
) -> None:
    recorded(store)
    issued = RequestOutcome(request_id="r-1", at=T0, issued=True, seq=9)
    half = directive(seq=9, action=Action.SECURE, confirmed=1, total=3, request="r-1",
                     pending_rooms=("102", "gym"))  # fmt: skip
    arrive(board, summary(seq=6, requests=(issued,), directives=(half,), in_force=3, confirmed=1))
    lincoln = store.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
    assert (lincoln["state"], lincoln["seq"], lincoln["confirmed"], lincoln["total"]) == (
        "issued", 9, 1, 3,
    )  # fmt: skip
    assert lincoln["pending_rooms"] == ["102", "gym"] and lincoln["summary_seq"] == 6
    assert not settled(lincoln)
    # Adams's summary cannot say anything of Lincoln, nor Lincoln's topic carry Adams's.
    refused = RequestOutcome(request_id="r-1", at=T0, issued=False, reason="no")
    arrive(board, summary("adams", seq=3, requests=(refused,)), on="lincoln")
    arrive(board, summary("adams", seq=3, requests=(refused,)))
    after = store.request("r-1")["schools"]  # type: ignore[index]
    assert after["lincoln"] == lincoln
    assert (after["adams"]["state"], after["adams"]["reason"]) == ("refused", "no")
    done = dataclasses.replace(half, confirmed=3, pending_rooms=())
    arrive(board, summary(seq=7, requests=(issued,), directives=(done,), in_force=3, confirmed=3))
    lincoln = store.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
    assert (lincoln["state"], lincoln["pending_rooms"], lincoln["in_force"]) == (
        "confirmed", [], True,
    )  # fmt: skip
    # Ended later (an All clear), long after the outcome left the summary's list.
    arrive(board, summary(seq=8))
    lincoln = store.request("r-1")["schools"]["lincoln"]  # type: ignore[index]
    assert (lincoln["state"], lincoln["in_force"], lincoln["confirmed"]) == ("confirmed", False, 3)
    assert settled(lincoln)


def test_a_one_building_request_does_not_claim_the_whole_schools_rooms(
    board: DistrictBoard,
) -> None:
    arrive(board, summary(rooms=24))
    shown = preview(action(scope=ScopeKind.BUILDING, target="north"), board)
    (school,) = shown.per_school
    assert school.rooms is None and shown.rooms == 0 and shown.unknown_rooms == ("lincoln",)
    assert school.rooms_unknown.startswith("rooms in building north: not known to the district")
    assert "lincoln: rooms unknown (rooms in building north: not known" in shown.words
    assert "24 rooms" not in shown.words.replace("(24 in the whole school)", "")
