"""A node whose clock disagrees with the hub's is a fault at the office, logged once per
change; the engine runs on a fake clock and a real SQLite store."""

from __future__ import annotations

import logging

import pytest

from hub.clocks import CLOCK_SKEW_FAULT_S, describe_skew
from hub.engine import Engine
from hub.queries import trouble
from tests.unit.conftest import FakeClock
from tests.unit.factories import status

HOUR = 3600.0


def report(engine: Engine, clock: FakeClock, *, skew: float, online: bool = True) -> None:
    """dev-102 says its status, its clock ``skew`` seconds off the hub's."""
    engine.presence.on_status(
        "dev-102",
        status(device_id="dev-102", room="102", online=online, time=clock.now + skew),
    )


def clock_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hub.clocks"]


@pytest.mark.parametrize(
    ("skew", "text"),
    [
        (3 * HOUR + 125, "3 h 2 min ahead of the hub"),
        (-(3 * HOUR + 125), "3 h 2 min behind the hub"),
        (2 * 86400 + 7 * HOUR, "2 d 7 h ahead of the hub"),
        (-61.4, "1 min 1 s behind the hub"),
        (-10799.8, "3 h 0 min behind the hub"),  # a status that took 0.2 s to arrive
    ],
)
def test_the_skew_in_words(skew: float, text: str) -> None:
    assert describe_skew(skew) == text


def test_a_clock_hours_behind_is_a_fault_in_the_trouble_list_with_the_others(
    engine: Engine, clock: FakeClock
) -> None:
    engine.presence.on_status(
        "dev-102",
        status(
            device_id="dev-102",
            room="102",
            time=clock.now - (3 * HOUR + 125),
            faults={"display": "gone"},
        ),
    )
    assert engine.presence.devices["dev-102"].faults == {
        "display": "gone",
        "clock": "3 h 2 min behind the hub",
    }
    assert "dev-102: clock: 3 h 2 min behind the hub" in trouble(engine)["faults"]


def test_a_clock_within_a_minute_is_no_fault(engine: Engine, clock: FakeClock) -> None:
    report(engine, clock, skew=CLOCK_SKEW_FAULT_S)
    report(engine, clock, skew=-CLOCK_SKEW_FAULT_S)
    assert engine.presence.devices["dev-102"].faults == {}


def test_the_fault_is_logged_once_per_change_not_every_heartbeat(
    engine: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.clocks")
    for wobble in (0.0, 0.2, -0.3, 5.0):  # delivery times: the same skew
        clock.advance(20)
        report(engine, clock, skew=2 * 86400 + wobble)
    assert clock_lines(caplog) == [
        "device dev-102: clock 2 d 0 h ahead of the hub (its NTP?); "
        "commands are judged on the hub's clock"
    ]
    report(engine, clock, skew=3 * HOUR)  # NTP half fixed it
    report(engine, clock, skew=0.4)  # and then fully
    report(engine, clock, skew=0.1)
    assert len(clock_lines(caplog)) == 3
    assert "3 h 0 min ahead" in clock_lines(caplog)[1]
    assert clock_lines(caplog)[2] == "device dev-102: clock agrees with the hub's again"
    assert engine.presence.devices["dev-102"].faults == {}


def test_a_last_will_neither_raises_nor_clears_the_fault(engine: Engine, clock: FakeClock) -> None:
    """A will's time is when the device connected, which may be hours before the broker
    publishes it: it says nothing about the device's clock."""
    report(engine, clock, skew=0.0, online=True)
    clock.advance(5 * HOUR)
    report(engine, clock, skew=-5 * HOUR, online=False)
    assert engine.presence.devices["dev-102"].faults == {}
    report(engine, clock, skew=-3 * HOUR, online=True)
    report(engine, clock, skew=-8 * HOUR, online=False)
    assert engine.presence.devices["dev-102"].faults == {"clock": "3 h 0 min behind the hub"}
