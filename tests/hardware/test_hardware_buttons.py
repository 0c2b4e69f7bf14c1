"""Buttons on gpiozero MockFactory pins: a test's drive_low() is a finger on the button.

Mock pins call back synchronously in the test's thread; the patterns complete on the
driver's watcher thread, so every check waits (bounded) for the recorder. To prove that
something did *not* happen, a test follows it with a gesture that does activate: the
watcher handles edges in order, so anything the first gesture caused would come first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory
from hw_helpers import Recorder

from hardware.buttons import GpioInputs
from hardware.config import ButtonBinding
from hardware.errors import PartUnavailable
from hardware.patterns import HoldPattern, PressPattern

HOLD_S = 0.15


def binding(
    pin: int, kind: str, *, hold_s: float = HOLD_S, pull_up: bool = True, stuck_after_s: float = 1.0
) -> ButtonBinding:
    return ButtonBinding(
        pin=pin,
        kind=kind,
        pattern=HoldPattern(hold_s),
        pull_up=pull_up,
        stuck_after_s=stuck_after_s,
    )


@pytest.fixture
def inputs(pin_factory: MockFactory, recorder: Recorder) -> Iterator[GpioInputs]:
    driver = GpioInputs(
        [
            binding(17, "panic", hold_s=0.5),
            binding(22, "staff-assist"),
            ButtonBinding(pin=27, kind="cancel", pattern=PressPattern(3, 1.5), stuck_after_s=4.0),
            binding(23, "all-accounted", pull_up=False),
        ],
        pin_factory=pin_factory,
    )
    driver.start(recorder.activation, recorder.fault)
    yield driver
    driver.close()


def hold(factory: MockFactory, pin: int, recorder: Recorder, events: int) -> None:
    """Press ``pin`` until ``events`` events have arrived, then release it."""
    factory.pin(pin).drive_low()
    recorder.wait_for(events)
    factory.pin(pin).drive_high()


def tap(factory: MockFactory, pin: int) -> None:
    factory.pin(pin).drive_low()
    factory.pin(pin).drive_high()


def test_a_held_panic_button_raises_panic(
    inputs: GpioInputs, pin_factory: MockFactory, recorder: Recorder
) -> None:
    hold(pin_factory, 17, recorder, 1)
    assert recorder.wait_for(1) == [("activation", "panic")]


def test_a_bump_raises_nothing(
    inputs: GpioInputs, pin_factory: MockFactory, recorder: Recorder
) -> None:
    tap(pin_factory, 17)  # far shorter than the 0.5 s hold
    hold(pin_factory, 22, recorder, 1)
    assert recorder.wait_for(1) == [("activation", "staff-assist")]


def test_three_presses_within_the_window_cancel(
    inputs: GpioInputs, pin_factory: MockFactory, recorder: Recorder
) -> None:
    for _ in range(3):
        pin_factory.pin(27).drive_low()
        assert not recorder.wait_for(1, timeout=0.05)  # a press long enough to count
        pin_factory.pin(27).drive_high()
    assert recorder.wait_for(1) == [("activation", "cancel")]


def test_two_presses_do_not_cancel(
    inputs: GpioInputs, pin_factory: MockFactory, recorder: Recorder
) -> None:
    for _ in range(2):
        pin_factory.pin(27).drive_low()
        assert not recorder.wait_for(1, timeout=0.05)
        pin_factory.pin(27).drive_high()
    hold(pin_factory, 22, recorder, 1)
    assert recorder.wait_for(1) == [("activation", "staff-assist")]


def test_a_pull_down_button_is_pressed_by_driving_high(
    inputs: GpioInputs, pin_factory: MockFactory, recorder: Recorder
) -> None:
    pin_factory.pin(23).drive_high()
    recorder.wait_for(1)
    pin_factory.pin(23).drive_low()
    assert recorder.wait_for(1) == [("activation", "all-accounted")]


def test_a_stuck_button_is_one_fault_then_one_recovery(
    inputs: GpioInputs, pin_factory: MockFactory, recorder: Recorder
) -> None:
    hold(pin_factory, 22, recorder, 2)  # held past stuck_after_s = 1.0 s
    events = recorder.wait_for(3)
    assert [e[0] for e in events] == ["activation", "fault", "recovered"]
    assert events[1][1] == "button:gpio22"
    assert "GPIO22" in events[1][2] and "stuck" in events[1][2]
    assert events[2] == ("recovered", "button:gpio22", "")


def test_a_button_down_at_start_up_does_not_activate(
    pin_factory: MockFactory, recorder: Recorder
) -> None:
    driver = GpioInputs([binding(22, "staff-assist", stuck_after_s=0.5)], pin_factory=pin_factory)
    pin_factory.pin(22).drive_low()
    driver.start(recorder.activation, recorder.fault)
    try:
        assert [e[0] for e in recorder.wait_for(1)] == ["fault"]  # stuck, never activated
        pin_factory.pin(22).drive_high()
        assert recorder.wait_for(2)[1][0] == "recovered"
        hold(pin_factory, 22, recorder, 3)
        assert recorder.wait_for(3)[2] == ("activation", "staff-assist")
    finally:
        driver.close()


def test_a_failing_handler_does_not_stop_later_presses(
    pin_factory: MockFactory, recorder: Recorder
) -> None:
    calls: list[str] = []

    def flaky(kind: str) -> None:
        calls.append(kind)
        if len(calls) == 1:
            raise RuntimeError("handler bug")
        recorder.activation(kind)

    driver = GpioInputs([binding(22, "staff-assist")], pin_factory=pin_factory)
    driver.start(flaky, recorder.fault)
    try:
        pin_factory.pin(22).drive_low()
        assert not recorder.wait_for(1, timeout=HOLD_S * 3)
        pin_factory.pin(22).drive_high()
        hold(pin_factory, 22, recorder, 1)
        assert recorder.wait_for(1) == [("activation", "staff-assist")]
        assert calls == ["staff-assist", "staff-assist"]
    finally:
        driver.close()


def test_a_pin_in_use_is_reported_with_its_number(pin_factory: MockFactory) -> None:
    first = GpioInputs([binding(22, "staff-assist")], pin_factory=pin_factory)
    try:
        with pytest.raises(PartUnavailable, match="GPIO22") as caught:
            GpioInputs(
                [binding(5, "panic", hold_s=0.5), binding(22, "cancel")], pin_factory=pin_factory
            )
        assert "BCM" in str(caught.value)
    finally:
        first.close()
    GpioInputs([binding(5, "panic", hold_s=0.5)], pin_factory=pin_factory).close()


def test_close_releases_the_pins(pin_factory: MockFactory, recorder: Recorder) -> None:
    driver = GpioInputs([binding(22, "staff-assist")], pin_factory=pin_factory)
    driver.start(recorder.activation, recorder.fault)
    driver.close()
    again = GpioInputs([binding(22, "staff-assist")], pin_factory=pin_factory)
    again.close()
    assert recorder.events == []


def test_start_twice_is_refused(inputs: GpioInputs, recorder: Recorder) -> None:
    with pytest.raises(RuntimeError):
        inputs.start(recorder.activation, recorder.fault)
