"""What one device may make the hub do: its message budget, floods, and open alerts kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.directives import DirectiveRequest
from hub.engine import Engine
from hub.guard import DeviceGuard, Flood, Limits, LogThrottle
from hub.queries import alerts, open_alerts
from hub.store import HubStore
from protocol.messages import EventKind
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.conftest import FakeClock, MakeEngine
from tests.unit.factories import ack, event

SMALL = Limits(burst=5, per_second=1.0, quiet_s=10.0, panic_burst=2, panic_per_second=0.2)


@pytest.fixture
def changes() -> list[tuple[str, bool]]:
    return []


@pytest.fixture
def guard(clock: FakeClock, changes: list[tuple[str, bool]]) -> DeviceGuard:
    def record(flood: Flood, started: bool) -> None:
        changes.append((flood.device_id, started))

    return DeviceGuard(limits=SMALL, clock=clock, on_change=record)


@pytest.fixture
def reader(hub_db: Path) -> Iterator[HubStore]:
    store = HubStore(hub_db)
    yield store
    store.close()


# -- the budget ------------------------------------------------------------------------------


def test_a_burst_within_the_budget_is_read(guard: DeviceGuard) -> None:
    assert all(guard.admit("dev-101", "101") for _ in range(5))
    assert guard.floods() == []


def test_over_the_budget_a_device_is_ignored_and_that_is_an_alarm(
    guard: DeviceGuard, changes: list[tuple[str, bool]]
) -> None:
    results = [guard.admit("dev-101", "101") for _ in range(20)]
    assert results == [True] * 5 + [False] * 15
    (flood,) = guard.floods()
    assert (flood.device_id, flood.room, flood.received) == ("dev-101", "101", 15)
    assert changes == [("dev-101", True)]
    assert "dev-101 (room 101) sent 15 messages" in flood.describe()
    assert "ignored until" in flood.describe()


def test_one_device_over_budget_never_costs_another_its_budget(guard: DeviceGuard) -> None:
    for _ in range(100):
        guard.admit("dev-101", "101")
    assert guard.admit("dev-102", "102")
    assert [f.device_id for f in guard.floods()] == ["dev-101"]


def test_a_flood_ends_once_the_device_is_quiet_and_is_read_again(
    guard: DeviceGuard, clock: FakeClock, changes: list[tuple[str, bool]]
) -> None:
    for _ in range(10):
        guard.admit("dev-101", "101")
    clock.advance(5)
    assert not guard.admit("dev-101", "101")  # still inside the quiet period
    clock.advance(SMALL.quiet_s + 1)
    assert guard.floods() == []
    assert changes == [("dev-101", True), ("dev-101", False)]
    assert guard.admit("dev-101", "101")


def test_a_device_that_keeps_flooding_stays_ignored(guard: DeviceGuard, clock: FakeClock) -> None:
    for _ in range(60):
        for _ in range(10):
            guard.admit("dev-101", "101")
        clock.advance(1)
    assert [f.device_id for f in guard.floods()] == ["dev-101"]


def test_panics_from_a_flooding_device_have_their_own_small_budget(
    guard: DeviceGuard, clock: FakeClock
) -> None:
    for _ in range(10):
        guard.admit("dev-101", "101")
    (flood,) = guard.floods()
    assert [guard.admit_panic("dev-101") for _ in range(3)] == [True, True, False]
    clock.advance(5)  # one panic's worth of budget back, still inside the flood
    assert guard.admit_panic("dev-101")
    assert flood.panics_read == 3


def test_a_revoked_device_is_forgotten(guard: DeviceGuard) -> None:
    for _ in range(10):
        guard.admit("dev-101", "101")
    guard.forget("dev-101")
    assert guard.floods() == []
    assert guard.admit("dev-101", "101")


def test_rejections_are_logged_once_a_minute_per_reason() -> None:
    throttle = LogThrottle(every_s=60)
    assert throttle.should_log("malformed", 0.0)
    assert not throttle.should_log("malformed", 30.0)
    assert throttle.should_log("unknown device", 30.0)
    assert throttle.should_log("malformed", 61.0)


# -- acks prove nothing but their own room ---------------------------------------------------


def test_an_ack_of_a_directive_never_issued_is_refused_and_numbering_goes_on(
    engine: Engine,
) -> None:
    engine.acks.on_ack("dev-101-a", ack(device_id="dev-101-a", seq=2**63 - 1))
    assert engine.rejected.counts["ack of no directive"] == 1
    assert engine.directives.issue(DirectiveRequest(action=Action.HOLD), user="u").seq == 1


def test_an_ack_for_a_directive_to_another_room_does_not_count(engine: Engine) -> None:
    other = engine.directives.issue(
        DirectiveRequest(action=Action.HOLD, scope=ScopeKind.ROOM, target="102"), user="u"
    )
    engine.acks.on_ack("dev-101-a", ack(device_id="dev-101-a", seq=other.seq))
    assert engine.rejected.counts["ack outside its room"] == 1
    assert "dev-101-a" not in engine.acks.of(other.seq)


def test_an_ack_of_a_building_directive_counts_only_inside_the_building(engine: Engine) -> None:
    main = engine.directives.issue(
        DirectiveRequest(action=Action.HOLD, scope=ScopeKind.BUILDING, target="main"), user="u"
    )
    engine.acks.on_ack("dev-101-a", ack(device_id="dev-101-a", seq=main.seq))
    engine.acks.on_ack("dev-gym", ack(device_id="dev-gym", room="gym", seq=main.seq))
    assert set(engine.acks.of(main.seq)) == {"dev-101-a"}
    assert engine.rejected.counts["ack outside its room"] == 1


def test_a_counter_poisoned_by_an_old_forged_ack_is_repaired_at_start(
    make_engine: MakeEngine, hub_db: Path
) -> None:
    first = make_engine()
    issued = first.directives.issue(DirectiveRequest(action=Action.HOLD), user="u")
    with sqlite3.connect(hub_db) as db:  # what a forged ack did before acks were checked
        db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (2**63 - 1,))
    again = make_engine()
    assert (
        again.directives.issue(DirectiveRequest(action=Action.SECURE), user="u").seq
        == issued.seq + 1
    )


# -- cancels withdraw only a device's own panic ---------------------------------------------


def test_a_cancel_of_another_devices_panic_is_refused(engine: Engine, reader: HubStore) -> None:
    panic = event(device_id="dev-102", room="102", event_id="p1")
    assert engine.events.on_event("dev-102", panic)
    cancel = event(device_id="dev-101-a", event_id="c1", kind=EventKind.CANCEL, cancels="p1")
    assert engine.events.on_event("dev-101-a", cancel) is None
    assert engine.rejected.counts["cancel refused"] == 1
    assert [a["event_id"] for a in open_alerts(reader)] == ["p1"]


def test_a_cancel_of_a_panic_not_yet_received_is_not_receipted(engine: Engine) -> None:
    """The node keeps it in its outbox and sends it again, after its panic."""
    cancel = event(device_id="dev-101-a", event_id="c1", kind=EventKind.CANCEL, cancels="p-later")
    assert engine.events.on_event("dev-101-a", cancel) is None


def test_a_devices_own_cancel_closes_its_alert(engine: Engine, reader: HubStore) -> None:
    engine.events.on_event("dev-101-a", event(device_id="dev-101-a", event_id="p1"))
    cancel = event(device_id="dev-101-a", event_id="c1", kind=EventKind.CANCEL, cancels="p1")
    assert engine.events.on_event("dev-101-a", cancel) is True
    assert open_alerts(reader) == []
    (alert,) = alerts(reader)
    assert alert["cancelled_at"] is not None and not alert["open"]
