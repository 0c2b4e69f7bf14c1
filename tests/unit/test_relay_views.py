"""What the office reads of the relay (hub/relay/views.py): plain words per delivery, and
the failing rule (3 tries of the oldest undelivered message, or over 60 s waiting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.bus import Bus, Change
from hub.relay.config import RelayConfig, SiteDetails, WebhookDestination
from hub.relay.store import Attempt, Pending, RelayStore
from hub.relay.views import FAILING_AFTER_S, HandOffs

SITE = SiteDetails(
    name="Lincoln",
    address={"street": "1", "city": "A", "region": "TX", "postal_code": "1", "country": "US"},
    latitude=0.0,
    longitude=0.0,
    console_url="https://hub.example.org",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> RelayStore:
    return RelayStore(tmp_path / "hub.db")


def _handoffs(store: RelayStore, clock: Clock, bus: Bus | None = None) -> HandOffs:
    hooks = tuple(
        WebhookDestination(name=name, url="https://x.example.org", secret=b"s" * 16, drills=d)
        for name, d in (("police-dispatch", False), ("office", True))
    )
    config = RelayConfig(source=Path("relay.toml"), site=SITE, webhooks=hooks)
    return HandOffs(
        config,
        store,
        site_id="lincoln",
        bus=bus or Bus(),
        wake=lambda name: None,
        watchers=set(),
        clock=clock,
    )


def _try(store: RelayStore, name: str, key: str, at: float, result: str, ms: float = 5) -> None:
    (row,) = store.outbox_of(name, [key])
    pending = Pending(row.id, name, key, b"{}", row.attempts)
    delivered = result == "delivered"
    store.record(pending, Attempt(at, ms, 200 if delivered else None, result), delivered=delivered)


def test_each_delivery_in_plain_words(store: RelayStore) -> None:
    clock = Clock()
    handoffs = _handoffs(store, clock)
    store.enqueue_direct("police-dispatch", "event:a", b"{}", at=clock.now)
    store.enqueue_direct("office", "event:a", b"{}", at=clock.now)
    _try(store, "police-dispatch", "event:a", clock.now, "delivered", ms=120.4)
    _try(store, "office", "event:a", clock.now, "connection refused")
    dispatch, office = handoffs.deliveries(["event:a"])["event:a"]
    assert dispatch["state"] == "delivered" and dispatch["duration_ms"] == 120
    assert dispatch["words"].startswith("Police dispatch (webhook): delivered ")
    assert dispatch["words"].endswith(", 120 ms")
    assert office["words"] == "Office (webhook): failed, retrying: connection refused (1 attempt)"
    missing = handoffs.deliveries(["event:b"])["event:b"]
    assert [d["words"] for d in missing] == [
        "Police dispatch (webhook): not sent here",
        "Office (webhook): not sent here",
    ]


def test_failing_after_three_tries_or_a_minute_and_clear_after_a_2xx(store: RelayStore) -> None:
    clock, bus = Clock(), Bus()
    handoffs = _handoffs(store, clock, bus)
    store.enqueue_direct("office", "event:a", b"{}", at=clock.now)
    store.enqueue_direct("office", "event:b", b"{}", at=clock.now)
    for _ in range(2):
        _try(store, "office", "event:a", clock.now, "timeout")
    assert [h["state"] for h in handoffs.health()] == ["ok", "sending"]
    _try(store, "office", "event:a", clock.now, "timeout")
    (failing,) = handoffs.failing()
    assert failing["waiting"] == 2 and failing["last_result"] == "timeout"
    assert failing["words"].startswith("Office (webhook): timeout since ")
    assert failing["words"].endswith("(2 messages waiting)")
    _try(store, "office", "event:a", clock.now, "delivered")
    assert handoffs.failing() == []  # event:b untried: sending, not yet failing
    clock.now += FAILING_AFTER_S + 1
    (slow,) = handoffs.failing()
    assert slow["last_result"] == "not yet tried"
    with bus.subscribe() as changes:
        handoffs._attempted()
        handoffs._attempted()  # the same state: live views are not told twice
        assert changes.qsize() == 1 and changes.get_nowait()["kind"] == Change.HANDOFF


def test_a_drill_reaches_only_the_destinations_that_take_drills(store: RelayStore) -> None:
    handoffs = _handoffs(store, Clock())
    assert [d.name for d in handoffs.reaching(kind="directive", drill=False)] == [
        "police-dispatch",
        "office",
    ]
    assert [d.name for d in handoffs.reaching(kind="directive", drill=True)] == ["office"]
