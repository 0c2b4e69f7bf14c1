"""The node's estimate of the hub's clock, and the command check that judges freshness by it.

The monotonic clock is a fake the test moves; the node's wall clock is not read at all
(T0 is in 2023, so a check that compared with the real clock would refuse everything).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.commands import COMMAND_CLOCK_TOLERANCE_S, CommandCheck
from device.hubclock import HubClock
from device.refused import Refused
from device.store import DeviceStore
from protocol.codec import encode
from protocol.messages import Command
from protocol.signing import sign
from tests.unit.conftest import FakeClock
from tests.unit.factories import T0, command

HEARTBEAT_S = 5.0


@pytest.fixture
def monotonic() -> FakeClock:
    return FakeClock(now=1000.0)  # a monotonic clock counts from boot, not from 1970


@pytest.fixture
def hub_clock(monotonic: FakeClock) -> HubClock:
    return HubClock(monotonic=monotonic)


@pytest.fixture
def check(
    tmp_path: Path, hub_key: Ed25519PrivateKey, hub_clock: HubClock
) -> Iterator[CommandCheck]:
    store = DeviceStore(tmp_path / "device.db")
    yield CommandCheck("dev-101", hub_key.public_key(), store, hub_clock)
    store.close()


def signed(key: Ed25519PrivateKey, **changes: float) -> bytes:
    return encode(sign(command(**changes), key))


def refusal(check: CommandCheck, payload: bytes) -> str:
    with pytest.raises(Refused) as refused:
        check.accept(payload)
    return refused.value.reason


def test_no_hub_time_until_a_hub_state_is_heard(hub_clock: HubClock) -> None:
    assert hub_clock.now() is None


def test_the_estimate_moves_on_by_the_monotonic_clock(
    hub_clock: HubClock, monotonic: FakeClock
) -> None:
    hub_clock.heard(T0, heartbeat_s=HEARTBEAT_S)
    monotonic.advance(3600.5)
    assert hub_clock.now() == T0 + 3600.5
    assert hub_clock.lag_bound_s == HEARTBEAT_S


def test_a_newer_hub_state_replaces_the_estimate_even_when_the_hub_clock_went_back(
    hub_clock: HubClock, monotonic: FakeClock
) -> None:
    hub_clock.heard(T0, heartbeat_s=HEARTBEAT_S)
    monotonic.advance(5)
    hub_clock.heard(T0 - 120, heartbeat_s=HEARTBEAT_S)  # the hub's NTP stepped it back
    monotonic.advance(1)
    assert hub_clock.now() == T0 - 119


def test_with_no_hub_time_a_command_is_refused_and_its_seq_is_not_used_up(
    check: CommandCheck, hub_key: Ed25519PrivateKey, hub_clock: HubClock
) -> None:
    payload = signed(hub_key, seq=4)
    assert refusal(check, payload) == "no hub time"
    hub_clock.heard(T0, heartbeat_s=HEARTBEAT_S)
    assert check.accept(payload).seq == 4  # the office's resend is obeyed


def test_a_command_is_fresh_until_its_expiry_plus_the_tolerance_on_the_hubs_clock(
    check: CommandCheck, hub_key: Ed25519PrivateKey, hub_clock: HubClock, monotonic: FakeClock
) -> None:
    hub_clock.heard(T0, heartbeat_s=HEARTBEAT_S)
    monotonic.advance(60 + COMMAND_CLOCK_TOLERANCE_S - 0.5)
    assert check.accept(signed(hub_key, seq=1)).seq == 1
    monotonic.advance(1.0)
    assert refusal(check, signed(hub_key, seq=2)) == "expired command"


def test_a_command_the_broker_kept_for_hours_is_refused(
    check: CommandCheck, hub_key: Ed25519PrivateKey, hub_clock: HubClock
) -> None:
    hub_clock.heard(T0 + 3 * 3600, heartbeat_s=HEARTBEAT_S)
    assert refusal(check, signed(hub_key, seq=1)) == "expired command"


def test_a_command_issued_ahead_of_the_hubs_clock_is_refused_beyond_lag_and_tolerance(
    check: CommandCheck, hub_key: Ed25519PrivateKey, hub_clock: HubClock
) -> None:
    hub_clock.heard(T0, heartbeat_s=HEARTBEAT_S)
    margin = COMMAND_CLOCK_TOLERANCE_S + HEARTBEAT_S
    # Within one heartbeat plus the tolerance: the retained hub_state may be that old.
    inside = signed(hub_key, seq=1, issued_at=T0 + margin - 1, expires_at=T0 + margin + 59)
    assert check.accept(inside).seq == 1
    beyond = signed(hub_key, seq=2, issued_at=T0 + margin + 1, expires_at=T0 + margin + 61)
    assert refusal(check, beyond) == "issued in the future"


def test_the_seq_stays_the_replay_guard_for_a_fresh_command(
    check: CommandCheck, hub_key: Ed25519PrivateKey, hub_clock: HubClock
) -> None:
    hub_clock.heard(T0, heartbeat_s=HEARTBEAT_S)
    payload = signed(hub_key, seq=7)
    check.accept(payload)
    assert refusal(check, payload) == "replayed or stale"
    assert refusal(check, signed(hub_key, seq=6)) == "replayed or stale"


def test_a_refused_stale_command_does_not_block_a_later_fresh_one(
    check: CommandCheck, hub_key: Ed25519PrivateKey, hub_clock: HubClock
) -> None:
    hub_clock.heard(T0 + 3600, heartbeat_s=HEARTBEAT_S)
    assert refusal(check, signed(hub_key, seq=9)) == "expired command"
    fresh: Command = command(seq=10, issued_at=T0 + 3600, expires_at=T0 + 3660)
    assert check.accept(encode(sign(fresh, hub_key))).seq == 10
