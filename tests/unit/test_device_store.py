"""The device's durable store on a real SQLite file: outbox, directives, session counter."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from device import store as store_module
from device.store import DeviceStore
from protocol.codec import encode
from protocol.messages import Event, EventKind
from protocol.srp import Action
from protocol.topics import ScopeKind
from tests.unit.factories import directive, event


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "device.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[DeviceStore]:
    opened = DeviceStore(db)
    yield opened
    opened.close()


def routine(n: int) -> Event:
    return event(event_id=f"evt-r{n}", kind=EventKind.STAFF_ASSIST)


def panic(n: int) -> Event:
    return event(event_id=f"evt-p{n}", kind=EventKind.PANIC)


def cancel(n: int) -> Event:
    return event(event_id=f"evt-c{n}", kind=EventKind.CANCEL, cancels=f"evt-p{n}")


def ids(store: DeviceStore) -> list[str]:
    return [e.event_id for e in store.pending_events()]


def test_creates_its_directory_and_an_empty_outbox(store: DeviceStore, db: Path) -> None:
    assert db.is_file()
    assert store.pending_events() == []
    assert store.load_directives() == []


def test_outbox_keeps_the_order_events_were_added(store: DeviceStore) -> None:
    added = [panic(1), routine(1), cancel(1), routine(2)]
    for e in added:
        store.add_event(e)
    assert store.pending_events() == added


def test_same_event_twice_is_kept_once_in_its_first_place(store: DeviceStore) -> None:
    store.add_event(panic(1))
    store.add_event(routine(1))
    store.add_event(panic(1))
    assert ids(store) == ["evt-p1", "evt-r1"]


def test_receipt_removes_only_that_event(store: DeviceStore) -> None:
    for e in (panic(1), routine(1), routine(2)):
        store.add_event(e)
    assert store.remove_event("evt-r1") is True
    assert ids(store) == ["evt-p1", "evt-r2"]
    assert store.remove_event("evt-r1") is False  # a duplicate receipt
    assert store.remove_event("evt-unknown") is False


def test_outbox_survives_a_restart(db: Path) -> None:
    first = DeviceStore(db)
    first.add_event(panic(1))
    first.add_event(routine(1))
    first.remove_event("evt-r1")
    first.add_event(cancel(1))
    first.close()

    second = DeviceStore(db)
    try:
        assert second.pending_events() == [panic(1), cancel(1)]
    finally:
        second.close()


def test_event_is_on_disk_before_add_event_returns(store: DeviceStore, db: Path) -> None:
    """Another connection sees the panic at once: it was committed, not just buffered."""
    store.add_event(panic(1))
    other = sqlite3.connect(db)
    try:
        assert other.execute("SELECT event_id FROM outbox").fetchall() == [("evt-p1",)]
    finally:
        other.close()


def test_bounded_outbox_evicts_the_oldest_routine_events(
    store: DeviceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "OUTBOX_LIMIT", 3)
    for n in range(1, 6):
        store.add_event(routine(n))
    assert ids(store) == ["evt-r3", "evt-r4", "evt-r5"]


def test_bounded_outbox_never_evicts_panic_or_cancel(
    store: DeviceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "OUTBOX_LIMIT", 3)
    store.add_event(panic(1))
    store.add_event(routine(1))
    store.add_event(cancel(1))
    store.add_event(routine(2))
    store.add_event(routine(3))
    store.add_event(panic(2))
    pending = ids(store)
    assert {"evt-p1", "evt-c1", "evt-p2"} <= set(pending)
    assert "evt-r1" not in pending and "evt-r2" not in pending
    assert pending == ["evt-p1", "evt-c1", "evt-p2"]


def test_outbox_full_of_panics_keeps_them_all(
    store: DeviceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "OUTBOX_LIMIT", 2)
    for n in range(1, 5):
        store.add_event(panic(n))
    store.add_event(routine(1))
    assert ids(store) == ["evt-p1", "evt-p2", "evt-p3", "evt-p4"]


def test_session_counter_grows_and_survives_a_restart(db: Path) -> None:
    first = DeviceStore(db)
    assert [first.next_session() for _ in range(3)] == [1, 2, 3]
    first.close()
    second = DeviceStore(db)
    try:
        assert second.next_session() == 4
    finally:
        second.close()


def test_directives_are_saved_per_scope_and_survive_a_restart(db: Path) -> None:
    site_lockdown = directive(seq=1, sig="c2ln")
    room_release = directive(seq=2, scope=ScopeKind.ROOM, target="101", action=Action.RELEASE)
    newer_site = directive(seq=3, action=Action.ALL_CLEAR)
    first = DeviceStore(db)
    first.save_directive(site_lockdown)
    first.save_directive(room_release)
    first.save_directive(newer_site)  # replaces the site scope's directive
    first.close()

    second = DeviceStore(db)
    try:
        loaded = sorted(second.load_directives(), key=lambda d: d.seq)
    finally:
        second.close()
    assert loaded == [room_release, newer_site]


def test_a_directive_is_kept_as_the_bytes_it_came_in(store: DeviceStore, db: Path) -> None:
    received = directive(seq=5, action=Action.SECURE, sig="c2ln")
    payload = json.dumps(json.loads(encode(received)), indent=1).encode()  # not our layout
    store.save_directive(received, payload)
    other = sqlite3.connect(db)
    try:
        assert other.execute("SELECT payload FROM directives").fetchall() == [(payload,)]
    finally:
        other.close()
    assert store.load_directives() == [received]


def test_corrupt_directive_row_is_dropped_not_fatal(store: DeviceStore, db: Path) -> None:
    good = directive(seq=4, scope=ScopeKind.BUILDING, target="main", action=Action.HOLD)
    store.save_directive(good)
    other = sqlite3.connect(db)
    try:
        with other:
            other.execute("INSERT INTO directives VALUES ('site', '', ?)", (b"{not json",))
    finally:
        other.close()
    assert store.load_directives() == [good]
