"""The district's board on a real SQLite file: what it believes of each school, what it
refuses, when it calls a school unreachable, and what survives its restart."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from district.action import DistrictAction
from district.board import DistrictBoard
from district.preview import preview
from district.store import DistrictStore
from protocol.codec import encode
from protocol.district import DistrictSummary, SummaryDirective
from protocol.messages import HubState
from protocol.srp import Action
from protocol.topics import DistrictChannel, ScopeKind, Topics
from tests.unit.conftest import FakeClock
from tests.unit.factories import T0

LINCOLN = Topics("lincoln")


def summary(**changes: object) -> DistrictSummary:
    fields: dict[str, object] = {
        "site": "lincoln", "seq": 5, "epoch": 2, "time": T0, "heartbeat_s": 10.0,
        "rooms": 3, "in_force": 0, "confirmed": 0, "alerts": 0, "offline": 0,
    }  # fmt: skip
    return DistrictSummary(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DistrictStore]:
    made = DistrictStore(tmp_path / "district.db")
    yield made
    made.close()


@pytest.fixture
def board(store: DistrictStore, clock: FakeClock) -> DistrictBoard:
    return DistrictBoard(store=store, schools=["lincoln", "adams"], clock=clock)


def lincoln(board: DistrictBoard) -> dict[str, object]:
    return {s["site"]: s for s in board.view()}["lincoln"]


def test_a_school_heard_is_reachable_until_two_heartbeats_pass(
    board: DistrictBoard, clock: FakeClock
) -> None:
    assert lincoln(board)["reachable"] is False  # never heard
    board.on_message(LINCOLN.district(DistrictChannel.SUMMARY), encode(summary()))
    state = HubState(online=True, epoch=2, heartbeat_s=5.0, time=T0)
    board.on_message(LINCOLN.hub_state, encode(state))
    board.on_message(LINCOLN.district(DistrictChannel.BRIDGE), b"1")
    view = lincoln(board)
    assert (view["reachable"], view["hub"], view["bridge"]) == (True, "up", "up")
    clock.advance(20.5)  # two of its 10 s heartbeats
    assert lincoln(board)["reachable"] is False
    board.on_message(LINCOLN.district(DistrictChannel.SUMMARY), encode(summary(seq=6)))
    assert lincoln(board)["reachable"] is True
    board.on_message(LINCOLN.district(DistrictChannel.BRIDGE), b"0")
    assert (lincoln(board)["reachable"], lincoln(board)["bridge"]) == (False, "down")


def test_what_is_not_the_schools_own_is_refused(board: DistrictBoard) -> None:
    board.on_message(Topics("elsewhere").district(DistrictChannel.SUMMARY), encode(summary()))
    board.on_message(LINCOLN.district(DistrictChannel.SUMMARY), encode(summary(site="adams")))
    board.on_message(LINCOLN.district(DistrictChannel.SUMMARY), b"{" * 50)
    board.on_message(LINCOLN.district(DistrictChannel.BRIDGE), b"maybe")
    assert board.rejected == {
        "unknown school": 1,
        "malformed": 2,
        "unexpected topic or payload": 1,
    }
    assert lincoln(board)["summary"] is None and lincoln(board)["last_contact_age_s"] is None


def test_an_older_summary_never_replaces_a_newer_and_the_newest_survives_a_restart(
    board: DistrictBoard, store: DistrictStore, clock: FakeClock
) -> None:
    topic = LINCOLN.district(DistrictChannel.SUMMARY)
    board.on_message(topic, encode(summary(seq=7, alerts=1, alert_rooms=("101",))))
    board.on_message(topic, encode(summary(seq=6)))  # a retained copy, late
    assert lincoln(board)["summary"]["alerts"] == 1  # type: ignore[index]
    board.on_message(topic, encode(dataclasses.replace(summary(), epoch=3, seq=1)))
    assert lincoln(board)["summary"]["alerts"] == 0  # type: ignore[index]  # a hub restart
    again = DistrictBoard(store=store, schools=["lincoln"], clock=clock)
    assert lincoln(again)["summary"]["epoch"] == 3  # type: ignore[index]


def test_the_timeline_tells_what_changed_from_one_summary_to_the_next(
    board: DistrictBoard,
) -> None:
    topic = LINCOLN.district(DistrictChannel.SUMMARY)
    secure = SummaryDirective(
        seq=4, action=Action.SECURE, scope=ScopeKind.SITE, drill=True, issued_at=T0,
        confirmed=3, total=3, request="r-1",
    )  # fmt: skip
    board.on_message(topic, encode(summary(seq=1)))
    board.on_message(topic, encode(summary(seq=2, directives=(secure,), in_force=3)))
    board.on_message(topic, encode(summary(seq=3, alerts=1, alert_rooms=("101",))))
    lines = [h["line"] for h in reversed(board.history("lincoln") or [])]
    assert lines == [
        "in force: DRILL SECURE #4 for the school (district request r-1)",
        "no longer in force: DRILL SECURE #4 for the school (district request r-1)",
        "open panic alerts: 0 -> 1 (rooms: 101)",
    ]
    assert board.history("nowhere") is None


def test_retained_copies_replayed_on_subscribe_are_no_sign_of_life(
    board: DistrictBoard, store: DistrictStore, clock: FakeClock
) -> None:
    topic = LINCOLN.district(DistrictChannel.SUMMARY)
    alive = encode(HubState(online=True, epoch=2, heartbeat_s=5.0, time=T0))
    # A fresh board (the command line's) hears only what the broker kept.
    board.on_retained(LINCOLN.hub_state, alive)
    board.on_retained(LINCOLN.district(DistrictChannel.BRIDGE), b"1")
    board.on_retained(topic, encode(summary(seq=5)))
    view = lincoln(board)
    assert view["summary"] is not None and (view["hub"], view["bridge"]) == ("up", "up")
    assert (view["reachable"], view["unreachable_because"]) == (
        False,
        "no live message from it yet",
    )
    board.on_message(topic, encode(summary(seq=6)))  # its next heartbeat, live
    assert lincoln(board)["reachable"] is True
    # The service restarted: the same retained copy again is no news, a newer one is.
    clock.advance(30)
    again = DistrictBoard(store=store, schools=["lincoln"], clock=clock)
    again.on_retained(topic, encode(summary(seq=6)))
    again.on_retained(LINCOLN.hub_state, alive)
    assert lincoln(again)["reachable"] is False and lincoln(again)["last_contact_age_s"] == 30
    again.on_retained(topic, encode(summary(seq=7)))  # published while it was away
    assert lincoln(again)["reachable"] is True


def test_a_school_whose_hub_is_down_is_unreachable_and_an_old_summary_is_stale(
    board: DistrictBoard, clock: FakeClock
) -> None:
    topic = LINCOLN.district(DistrictChannel.SUMMARY)
    board.on_message(topic, encode(summary()))
    board.on_message(LINCOLN.district(DistrictChannel.BRIDGE), b"1")
    assert lincoln(board)["summary_stale"] is False
    dead = HubState(online=False, epoch=2, heartbeat_s=5.0, time=T0)  # the hub's will
    board.on_message(LINCOLN.hub_state, encode(dead))
    view = lincoln(board)
    assert (view["reachable"], view["unreachable_because"], view["hub"]) == (
        False,
        "hub down",
        "down",
    )
    clock.advance(20.5)  # the bridge still says 1, but no summary for two heartbeats
    view = lincoln(board)
    assert view["summary_stale"] is True and view["summary_age_s"] == 20.5
    (shown,) = preview(
        DistrictAction(action=Action.HOLD, drill=True, schools=("lincoln",), issued_by="kim"),
        board,
    ).per_school
    assert shown.warnings[0].startswith("UNREACHABLE (hub down)")
    assert shown.warnings[1].startswith("its summary is STALE")
