"""The hub's half of a cut-off (hub.quarantine): when it asks, for how long, what it says."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hub import quarantine as cut_offs
from hub.guard import DeviceGuard, Flood, Limits
from hub.quarantine import (
    FIRST_CUT_OFF_S,
    LONGEST_CUT_OFF_S,
    QUARANTINE_FILE,
    BrokerQuarantine,
    CutOff,
)
from tests.unit.conftest import FakeClock

ECHO_VERSION = (
    "import json, sys; request = json.load(open(sys.argv[1])); "
    "json.dump({'version': request['version']}, open(sys.argv[2], 'w'))"
)
"""What the privileged step confirms, without the site it would apply the request to."""
LIMITS = Limits(burst=5, per_second=1.0, quiet_s=10.0, cut_off_after=20)


def _flood(device_id: str = "rc-101", room: str = "101", received: int = 5000) -> Flood:
    return Flood(device_id, room, started=0.0, last_excess=0.0, until=0.0, received=received)


@pytest.fixture
def changes() -> list[tuple[str, bool]]:
    return []


@pytest.fixture
def quarantine(
    tmp_path: Path, clock: FakeClock, changes: list[tuple[str, bool]]
) -> BrokerQuarantine:
    def record(entry: CutOff, started: bool) -> None:
        changes.append((entry.device_id, started))

    return BrokerQuarantine(tmp_path / QUARANTINE_FILE, clock=clock, on_change=record)


def test_the_guard_asks_once_per_flood_after_cut_off_after_dropped(clock: FakeClock) -> None:
    asked: list[str] = []

    def cut_off(flood: Flood) -> float:
        asked.append(flood.device_id)
        return clock() + 60

    guard = DeviceGuard(limits=LIMITS, clock=clock, on_cut_off=cut_off)
    for _ in range(LIMITS.burst + LIMITS.cut_off_after * 3):
        if not guard.admit("rc-101", "101"):
            guard.dropped("rc-101")
    assert asked == ["rc-101"]
    (flood,) = guard.floods()
    assert flood.cut_off_until == clock() + 60


def test_a_node_resending_its_outbox_is_never_cut_off(clock: FakeClock) -> None:
    guard = DeviceGuard(clock=clock, on_cut_off=lambda flood: pytest.fail("cut off"))
    for _ in range(guard.limits.burst):  # a whole outbox at once fits in the burst
        assert guard.admit("rc-101", "101")


def test_a_cut_off_is_written_for_the_privileged_step_and_the_office_told(
    quarantine: BrokerQuarantine, clock: FakeClock, changes: list[tuple[str, bool]]
) -> None:
    until = quarantine.cut_off(_flood())
    assert until == clock() + FIRST_CUT_OFF_S
    request = json.loads(quarantine.path.read_text(encoding="utf-8"))
    assert request["devices"]["rc-101"]["until"] == until
    assert changes == [("rc-101", True)]
    (entry,) = quarantine.entries()
    text = entry.describe()
    assert "rc-101 (room 101) flooded the hub (5,000 messages)" in text
    assert "A panic from room 101 cannot reach the office until then" in text


def test_a_cut_off_ends_on_time_and_the_file_says_so(
    quarantine: BrokerQuarantine, clock: FakeClock, changes: list[tuple[str, bool]]
) -> None:
    quarantine.cut_off(_flood())
    clock.advance(FIRST_CUT_OFF_S - 1)
    quarantine.expire()
    assert quarantine.cut_off_ids() == {"rc-101"}
    clock.advance(1)
    quarantine.expire()
    assert quarantine.cut_off_ids() == frozenset()
    assert json.loads(quarantine.path.read_text(encoding="utf-8"))["devices"] == {}
    assert changes == [("rc-101", True), ("rc-101", False)]


def test_a_device_that_floods_again_soon_is_cut_off_twice_as_long_up_to_a_limit(
    quarantine: BrokerQuarantine, clock: FakeClock
) -> None:
    lengths = []
    for _ in range(8):
        start = clock()
        lengths.append(quarantine.cut_off(_flood()) - start)
        clock.advance(lengths[-1])
        quarantine.expire()
    assert lengths[:5] == [FIRST_CUT_OFF_S * 2**n for n in range(5)]
    assert lengths[-1] == LONGEST_CUT_OFF_S
    clock.advance(3600)  # an hour of good behaviour: back to the first length
    assert quarantine.cut_off(_flood()) - clock() == FIRST_CUT_OFF_S


def test_cut_offs_survive_a_hub_restart_and_a_broken_file_is_read_as_none(
    quarantine: BrokerQuarantine, clock: FakeClock, tmp_path: Path
) -> None:
    quarantine.cut_off(_flood())
    again = BrokerQuarantine(quarantine.path, clock=clock)
    assert again.cut_off_ids() == {"rc-101"}
    quarantine.path.write_text('{"devices": {"rc-101": {"room": 1}}', encoding="utf-8")
    assert BrokerQuarantine(quarantine.path, clock=clock).cut_off_ids() == frozenset()


def test_a_revoked_device_is_forgotten(
    quarantine: BrokerQuarantine, changes: list[tuple[str, bool]]
) -> None:
    quarantine.cut_off(_flood())
    quarantine.forget("rc-101")
    assert quarantine.entries() == []
    assert changes[-1] == ("rc-101", False)


async def test_a_command_that_fails_is_said_on_the_alarm(tmp_path: Path, clock: FakeClock) -> None:
    applied: list[bool] = []
    quarantine = BrokerQuarantine(
        tmp_path / QUARANTINE_FILE,
        command=["sh", "-c", "echo no broker here; exit 3", "{request}"],
        clock=clock,
        on_applied=applied.append,
    )
    quarantine.cut_off(_flood())
    await quarantine._apply()  # what run() does after each change
    assert applied == [False]
    (entry,) = quarantine.entries()
    assert entry.not_applied is not None and "exited 3" in entry.not_applied
    assert "The broker could not be told: sh exited 3" in entry.describe()


async def test_the_office_is_told_when_the_broker_never_confirms(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a hub host the path unit applies the request; if it never does, the alarm says so."""
    monkeypatch.setattr(cut_offs, "CONFIRM_WITHIN_S", 0.2)
    applied: list[bool] = []
    quarantine = BrokerQuarantine(
        tmp_path / QUARANTINE_FILE, clock=clock, on_applied=applied.append
    )
    quarantine.cut_off(_flood())
    await quarantine._await_confirmation()
    assert applied == [False]
    (entry,) = quarantine.entries()
    assert entry.not_applied is not None and "roomcast-quarantine.path" in entry.not_applied


async def test_a_confirmed_cut_off_asks_once_for_a_fresh_connection(
    tmp_path: Path, clock: FakeClock
) -> None:
    fresh: list[None] = []
    quarantine = BrokerQuarantine(
        tmp_path / QUARANTINE_FILE,
        command=[sys.executable, "-c", ECHO_VERSION, "{request}", "{confirmation}"],
        clock=clock,
        on_cut_off_applied=lambda: fresh.append(None),
    )
    quarantine.cut_off(_flood())
    assert await quarantine._apply()
    await quarantine._await_confirmation()
    assert fresh == [None]
    assert quarantine.entries()[0].not_applied is None
    quarantine.expire()  # nothing new: a later confirmation asks for nothing
    await quarantine._await_confirmation()
    assert fresh == [None]
