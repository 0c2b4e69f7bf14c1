"""Status LED and buzzer on MockFactory PWM pins: the test reads what the pins are doing."""

from __future__ import annotations

import pytest
from gpiozero import RGBLED
from gpiozero.pins.mock import MockFactory
from hw_helpers import wait_until
from pytest_mock import MockerFixture

from hardware.config import BuzzerConfig, LedIndicatorConfig, RgbIndicatorConfig
from hardware.errors import PartUnavailable
from hardware.leds import GpioBuzzer, RgbIndicator, open_indicator

RGB_PINS = RgbIndicatorConfig(red=5, green=6, blue=13)


def states(factory: MockFactory, pin: int) -> list[bool]:
    return [bool(s.state) for s in factory.pin(pin).states]


def test_steady_shows_the_colour_on_the_three_pins(pin_factory: MockFactory) -> None:
    indicator = open_indicator(RGB_PINS, pin_factory=pin_factory)
    try:
        indicator.show((1.0, 0.0, 0.5), "steady")
        assert [pin_factory.pin(p).state for p in (5, 6, 13)] == pytest.approx([1.0, 0.0, 0.5])
        indicator.show((1.0, 0.0, 0.5), "off")
        assert [pin_factory.pin(p).state for p in (5, 6, 13)] == [0, 0, 0]
    finally:
        indicator.close()


def test_common_anode_leds_are_driven_inverted(pin_factory: MockFactory) -> None:
    config = RgbIndicatorConfig(red=5, green=6, blue=13, active_high=False)
    indicator = open_indicator(config, pin_factory=pin_factory)
    try:
        indicator.show((1.0, 0.0, 0.0), "steady")
        assert [pin_factory.pin(p).state for p in (5, 6, 13)] == [0, 1, 1]
    finally:
        indicator.close()


def test_blink_turns_the_colour_on_and_off(pin_factory: MockFactory) -> None:
    indicator = open_indicator(RGB_PINS, pin_factory=pin_factory)
    try:
        indicator.show((0.0, 0.0, 1.0), "blink")
        assert wait_until(lambda: states(pin_factory, 13)[-3:] == [True, False, True])
        assert set(states(pin_factory, 5)) == {False}
    finally:
        indicator.close()


def test_pulse_fades_through_intermediate_levels(pin_factory: MockFactory) -> None:
    indicator = open_indicator(RGB_PINS, pin_factory=pin_factory)
    try:
        indicator.show((0.0, 1.0, 0.0), "pulse")
        assert wait_until(lambda: 0.2 < indicator.value[1] < 0.8)
    finally:
        indicator.close()


def test_repeating_a_request_keeps_the_running_blink(
    pin_factory: MockFactory, mocker: MockerFixture
) -> None:
    led = RGBLED(5, 6, 13, pin_factory=pin_factory)
    indicator = RgbIndicator(led, pwm=True)
    try:
        blink = mocker.spy(led, "blink")
        indicator.show((1.0, 0.0, 0.0), "blink")
        indicator.show((1.0, 0.0, 0.0), "blink")
        indicator.show((1.0, 0.5, 0.0), "blink")
        assert blink.call_count == 2
    finally:
        indicator.close()


def test_a_single_led_lights_for_any_colour(pin_factory: MockFactory) -> None:
    indicator = open_indicator(LedIndicatorConfig(pin=5), pin_factory=pin_factory)
    try:
        indicator.show((0.2, 0.0, 0.0), "steady")
        assert pin_factory.pin(5).state == 1
        indicator.show((0.0, 0.0, 0.0), "steady")
        assert pin_factory.pin(5).state == 0
        indicator.show((0.0, 1.0, 0.0), "pulse")  # no PWM: a short heartbeat flash
        assert wait_until(lambda: states(pin_factory, 5)[-2:] == [True, False])
    finally:
        indicator.close()


def test_an_unknown_pattern_is_refused(pin_factory: MockFactory) -> None:
    indicator = open_indicator(RGB_PINS, pin_factory=pin_factory)
    try:
        with pytest.raises(ValueError, match="pattern"):
            indicator.show((1.0, 0.0, 0.0), "strobe")
    finally:
        indicator.close()


def test_an_indicator_on_a_taken_pin_names_the_pins(pin_factory: MockFactory) -> None:
    first = open_indicator(LedIndicatorConfig(pin=6), pin_factory=pin_factory)
    try:
        with pytest.raises(PartUnavailable, match="GPIO5/6/13"):
            open_indicator(RGB_PINS, pin_factory=pin_factory)
    finally:
        first.close()


def test_an_active_buzzer_chirps_once(pin_factory: MockFactory) -> None:
    buzzer = GpioBuzzer(BuzzerConfig(pin=12, chirp_s=0.02), pin_factory=pin_factory)
    try:
        buzzer.chirp()
        assert wait_until(lambda: states(pin_factory, 12) == [False, True, False])
        assert not buzzer.sounding
    finally:
        buzzer.close()


def test_a_passive_buzzer_chirps_at_its_tone(
    pin_factory: MockFactory, mocker: MockerFixture
) -> None:
    config = BuzzerConfig(pin=12, tone_hz=2000.0, chirp_s=0.02)
    buzzer = GpioBuzzer(config, pin_factory=pin_factory)
    tuned = mocker.spy(pin_factory.pin(12), "_set_frequency")
    try:
        buzzer.chirp(count=2)
        duty = [0.0, 0.5, 0.0, 0.5, 0.0]  # two tones at half duty, silent between
        assert wait_until(lambda: [s.state for s in pin_factory.pin(12).states] == duty)
        assert not buzzer.sounding
    finally:
        buzzer.close()
    played = [c.args[0] for c in tuned.call_args_list if c.args[0] is not None]
    assert played == pytest.approx([2000.0, 2000.0])
