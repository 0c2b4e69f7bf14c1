"""Pin factories by config name, without touching gpiozero's global default."""

from __future__ import annotations

import sys

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from hardware.errors import HardwareConfigError, PartUnavailable
from hardware.pins import make_pin_factory


def test_mock_gives_pwm_capable_pins_and_leaves_the_global_alone() -> None:
    before = Device.pin_factory
    factory = make_pin_factory("mock")
    try:
        assert isinstance(factory, MockFactory)
        assert isinstance(factory.pin(18), MockPWMPin)
        assert Device.pin_factory is before
    finally:
        factory.close()


def test_an_unknown_name_is_a_config_error() -> None:
    with pytest.raises(HardwareConfigError, match="lgpio") as caught:
        make_pin_factory("pigpio")
    assert caught.value.key == "hardware.pin_factory"


def test_a_missing_backend_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiozero.pins.lgpio", None)
    with pytest.raises(PartUnavailable, match=r"pip install 'lgpio>=0.2.2'") as caught:
        make_pin_factory("lgpio")
    assert caught.value.part == "gpio" and "gpio group" in str(caught.value)
