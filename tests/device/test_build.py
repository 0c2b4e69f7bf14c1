"""Building a node's parts from its ``hardware`` section: errors name the key; a part
that is missing or broken becomes a fault and the rest keeps working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory
from PIL import Image

from device.build import DisplayChoice, MissingDisplay, build_hardware
from hardware.buttons import GpioInputs
from hardware.displays import LumaDisplay
from hardware.errors import HardwareConfigError
from hardware.leds import GpioBuzzer, RgbIndicator
from hardware.serial_outputs import SerialOutputs
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs
from tests.device.helpers import until as wait_until

pytestmark = pytest.mark.filterwarnings(
    "ignore:Image.Image.getdata is deprecated:DeprecationWarning:luma"
)

GPIO_PARTS: dict[str, Any] = {
    "pin_factory": "mock",
    "buttons": [{"pin": 17, "kind": "panic"}, {"pin": 27, "kind": "cancel"}],
    "indicator": {"type": "rgb", "red": 5, "green": 6, "blue": 13},
    "buzzer": {"pin": 12},
}
MISSING_PANEL = {"type": "ssd1306", "i2c": {"port": 9, "address": "0x3c"}}
"""A panel on an I2C bus this machine does not have: luma cannot open it."""


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"display": {"type": "ssd9999"}}, "hardware.display.type"),
        (
            {"buttons": [{"pin": 2, "kind": "panic"}], "display": MISSING_PANEL | {"i2c": {}}},
            "hardware.buttons[0].pin",
        ),
        ({"buttons": [{"pin": 17, "kind": "panic", "hold_time": 2}]}, "hardware.buttons[0]"),
        ({"relay": {"actions": {"lockdown": [1]}}}, "hardware.relay.port"),
        ({"pin_factory": "pigpio"}, "hardware.pin_factory"),
    ],
)
def test_a_wrong_config_is_an_error_naming_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(HardwareConfigError) as caught:
        build_hardware(raw)
    assert caught.value.key.startswith(key)
    assert str(caught.value).startswith(caught.value.key)


def test_no_hardware_section_gives_a_png_screen_and_simulated_parts(tmp_path: Path) -> None:
    parts = build_hardware({}, choice=DisplayChoice(png=tmp_path / "screen.png"))
    try:
        assert isinstance(parts.display, PngDisplay)
        assert parts.display.path == tmp_path / "screen.png"
        assert isinstance(parts.inputs, SimulatedInputs)
        assert isinstance(parts.indicator, SimulatedIndicator)
        assert parts.faults.pending == {}
    finally:
        parts.close()


def test_gpio_parts_open_on_mock_pins(pins: MockFactory) -> None:
    parts = build_hardware(GPIO_PARTS, pin_factory=pins)
    try:
        assert isinstance(parts.inputs, GpioInputs)
        assert isinstance(parts.indicator, RgbIndicator)
        assert isinstance(parts.buzzer, GpioBuzzer)
        assert parts.faults.pending == {}
    finally:
        parts.close()


def test_the_configured_mock_pin_factory_is_made_and_closed() -> None:
    parts = build_hardware(GPIO_PARTS)
    try:
        assert isinstance(parts.inputs, GpioInputs)
    finally:
        parts.close()


def test_a_display_that_cannot_be_opened_is_a_fault_and_a_missing_display(
    pins: MockFactory,
) -> None:
    parts = build_hardware(GPIO_PARTS | {"display": MISSING_PANEL}, pin_factory=pins)
    try:
        assert isinstance(parts.display, MissingDisplay)
        assert parts.display.size == (128, 64) and parts.display.mode == "1"
        assert "I2C bus 9" in parts.faults.pending["display"]
        assert isinstance(parts.inputs, GpioInputs)  # the panic button still works
    finally:
        parts.close()


async def test_a_missing_serial_port_is_a_fault_not_an_error(tmp_path: Path) -> None:
    port = tmp_path / "usb-relay-unplugged"
    raw = {"relay": {"port": str(port), "channels": 2, "actions": {"lockdown": [1, 2]}}}
    parts = build_hardware(raw, choice=DisplayChoice(png=tmp_path / "screen.png"))
    try:
        assert isinstance(parts.outputs, SerialOutputs)
        parts.outputs.apply("lockdown", False, "Locks, lights, out of sight.")
        part = f"relay:{port}"
        await wait_until(lambda: part in parts.faults.pending, what="the relay fault")
        assert "check the USB cable" in parts.faults.pending[part]
    finally:
        parts.close()


def test_a_button_whose_pin_is_taken_is_a_fault_and_the_others_work(
    pins: MockFactory,
) -> None:
    squatter = LED(27, pin_factory=pins)  # another program holds the cancel button's pin
    try:
        parts = build_hardware(GPIO_PARTS, pin_factory=pins)
        try:
            assert isinstance(parts.inputs, GpioInputs)
            assert set(parts.faults.pending) == {"button:gpio27"}
        finally:
            parts.close()
    finally:
        squatter.close()


def test_png_override_renders_at_the_configured_panel_size(tmp_path: Path) -> None:
    raw = {"display": {"type": "ssd1322", "spi": {}}}
    parts = build_hardware(raw, choice=DisplayChoice(kind="png", png=tmp_path / "s.png"))
    try:
        assert isinstance(parts.display, PngDisplay)
        assert (parts.display.size, parts.display.mode) == ((256, 64), "L")
    finally:
        parts.close()


def test_emulator_override_writes_frames_a_person_can_look_at(tmp_path: Path) -> None:
    raw = {"display": {"type": "ssd1306", "width": 128, "height": 32, "i2c": {}}}
    choice = DisplayChoice(kind="emulator", frames=tmp_path / "frames")
    parts = build_hardware(raw, choice=choice)
    try:
        assert isinstance(parts.display, LumaDisplay)
        assert parts.display.size == (128, 32)
        parts.display.show(Image.new("1", (128, 32), 1))
        with Image.open(tmp_path / "frames" / "frame.png") as written:
            assert written.size == (128, 32)
    finally:
        parts.close()
