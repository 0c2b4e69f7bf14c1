"""Lists the office acts on are queries of state, never windows of recent rows; history
is paged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.engine import Engine
from hub.queries import alert_listing, open_alerts, parse_cursor
from hub.store import HubStore
from protocol.messages import EventKind
from tests.unit.conftest import FakeClock
from tests.unit.factories import event


@pytest.fixture
def reader(hub_db: Path) -> Iterator[HubStore]:
    store = HubStore(hub_db)
    yield store
    store.close()


def test_an_old_open_alert_stays_open_under_any_number_of_newer_events(
    engine: Engine, clock: FakeClock, reader: HubStore
) -> None:
    engine.events.on_event("dev-102", event(device_id="dev-102", room="102", event_id="old-panic"))
    for n in range(600):
        clock.advance(1)
        engine.events.on_event("dev-101-a", event(device_id="dev-101-a", event_id=f"p{n}"))
        cancel = event(
            device_id="dev-101-a", event_id=f"c{n}", kind=EventKind.CANCEL, cancels=f"p{n}"
        )
        engine.events.on_event("dev-101-a", cancel)
    assert [a["event_id"] for a in open_alerts(reader)] == ["old-panic"]


def test_alert_history_pages_reach_every_panic_once(
    engine: Engine, clock: FakeClock, reader: HubStore
) -> None:
    for n in range(250):
        if n % 3:
            clock.advance(1)  # some panics share a second: the cursor breaks the tie
        engine.events.on_event("dev-101-a", event(device_id="dev-101-a", event_id=f"p{n:03}"))
    seen: list[str] = []
    cursor = None
    while True:
        listing = alert_listing(reader, before=cursor, limit=100)
        seen += [a["event_id"] for a in listing["alerts"]]
        cursor = listing["next"]
        if cursor is None:
            break
    assert sorted(seen) == [f"p{n:03}" for n in range(250)]
    assert len(seen) == 250


@pytest.mark.parametrize("cursor", ["", "abc", "nan:x", "5.0:", "inf"])
def test_a_bad_page_cursor_is_a_value_error(cursor: str) -> None:
    with pytest.raises(ValueError, match=r"cursor|float"):
        parse_cursor(cursor)


def test_a_page_size_outside_its_range_is_refused(reader: HubStore) -> None:
    with pytest.raises(ValueError, match="limit must be 1 to 500"):
        alert_listing(reader, before=None, limit=10_000)


def test_each_rooms_latest_report_is_kept_however_many_came_after(
    engine: Engine, clock: FakeClock, reader: HubStore
) -> None:
    accounted = event(device_id="dev-102", room="102", event_id="r", kind=EventKind.ALL_ACCOUNTED)
    engine.events.on_event("dev-102", accounted)
    for n in range(1500):
        clock.advance(1)
        assist = event(device_id="dev-101-a", event_id=f"s{n}", kind=EventKind.STAFF_ASSIST)
        engine.events.on_event("dev-101-a", assist)
    latest = reader.latest_per_room(kinds=("staff_assist", "all_accounted"))
    assert latest["102"]["event_id"] == "r"
    assert latest["101"]["event_id"] == "s1499"


def test_the_audit_log_is_paged_and_every_entry_is_reached_once(reader: HubStore) -> None:
    for n in range(450):
        reader.audit(at=float(n), user="u", action="issue hold", detail={"n": n})
    seen, before = [], None
    while page := reader.audit_log(before_id=before, limit=200):
        seen += [entry["detail"]["n"] for entry in page]
        before = page[-1]["id"]
    assert seen == list(reversed(range(450)))


def test_a_skewed_nodes_press_has_no_made_up_delivery_time(
    engine: Engine, clock: FakeClock, reader: HubStore
) -> None:
    """Its clock is hours off: the hub's own time stands, the office sees a clock fault."""
    panic = event(device_id="dev-102", room="102", event_id="p", created_at=clock.now - 3 * 3600)
    engine.events.on_event("dev-102", panic)
    (alert,) = open_alerts(reader)
    assert alert["press_to_hub_ms"] is None
    assert alert["received_at"] == clock.now
