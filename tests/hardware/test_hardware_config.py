"""Parsing the hardware section: the documented example, defaults, and every refusal."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hardware.config import (
    ButtonBinding,
    DisplayConfig,
    HardwareConfig,
    I2cBus,
    RgbIndicatorConfig,
    SpiBus,
)
from hardware.config_parse import parse_hardware_config
from hardware.errors import HardwareConfigError
from hardware.patterns import HoldPattern, PressPattern

EXAMPLE: dict[str, Any] = {
    "pin_factory": "lgpio",
    "buttons": [
        {"pin": 17, "kind": "panic"},
        {"pin": 27, "kind": "cancel", "pattern": {"presses": 3, "window_s": 2.0}},
        {
            "pin": 22,
            "kind": "staff-assist",
            "pattern": {"hold_s": 1.0},
            "pull_up": True,
            "stuck_after_s": 30,
        },
        {"pin": 23, "kind": "all-accounted"},
    ],
    "indicator": {"type": "rgb", "red": 5, "green": 6, "blue": 13},
    "buzzer": {"pin": 12, "tone_hz": 2000},
    "display": {
        "type": "ssd1306",
        "width": 128,
        "height": 64,
        "i2c": {"port": 1, "address": "0x3C"},
    },
    "relay": {
        "port": "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0",
        "channels": 2,
        "actions": {"lockdown": [1, 2], "evacuate": [1], "shelter": [1]},
        "drill_actions": {"lockdown": [1]},
    },
    "signs": [{"port": "/dev/ttyUSB1", "colours": {"lockdown": "red"}}],
}


def parse(raw: dict[str, Any]) -> HardwareConfig:
    return parse_hardware_config(raw)


def changed(path: str, value: object) -> dict[str, Any]:
    """EXAMPLE with the value at a dotted path (list items as [i]) replaced or deleted."""
    raw = copy.deepcopy(EXAMPLE)
    node: Any = raw
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return raw


DELETE = object()


def test_the_documented_example_parses() -> None:
    config = parse(EXAMPLE)
    assert config.buttons[0] == ButtonBinding(pin=17, kind="panic", pattern=HoldPattern(1.5))
    assert config.buttons[1].pattern == PressPattern(3, 2.0)
    assert config.buttons[2].stuck_after_s == 30.0
    assert config.indicator == RgbIndicatorConfig(red=5, green=6, blue=13)
    assert config.buzzer is not None and config.buzzer.tone_hz == 2000.0
    assert config.display == DisplayConfig(
        type="ssd1306", width=128, height=64, mode="1", bus=I2cBus(port=1, address=0x3C)
    )
    assert config.relay is not None
    assert config.relay.channels_on("lockdown", drill=True) == {1}
    assert config.relay.channels_on("lockdown", drill=False) == {1, 2}
    assert config.relay.channels_on("all_clear", drill=False) == set()
    assert config.signs[0].colours == {"lockdown": "red"}
    assert config.signs[0].position == "fill" and config.signs[0].mode == "hold"


def test_an_empty_section_means_no_hardware() -> None:
    assert parse({}) == HardwareConfig()


def test_the_cancel_button_defaults_to_a_longer_hold() -> None:
    config = parse({"buttons": [{"pin": 5, "kind": "cancel"}]})
    assert config.buttons[0].pattern == HoldPattern(3.0)


def test_frozen_results() -> None:
    config = parse(EXAMPLE)
    with pytest.raises(AttributeError):
        config.pin_factory = "mock"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.relay.actions["hold"] = frozenset({1})  # type: ignore[index, union-attr]


@pytest.mark.parametrize(
    ("address", "expected"), [("0x3C", 0x3C), ("0x3d", 0x3D), (60, 60), ("3C", 0x3C)]
)
def test_i2c_addresses_as_numbers_or_strings(address: object, expected: int) -> None:
    config = parse(changed("display.i2c.address", address))
    assert config.display is not None and config.display.bus == I2cBus(address=expected)


def test_an_spi_greyscale_panel() -> None:
    raw = {
        "display": {
            "type": "ssd1322",
            "spi": {
                "port": 0,
                "device": 0,
                "gpio_DC": 24,
                "gpio_RST": 25,
                "bus_speed_hz": 16000000,
            },
        }
    }
    display = parse(raw).display
    assert display == DisplayConfig(
        type="ssd1322", width=256, height=64, mode="L", bus=SpiBus(bus_speed_hz=16_000_000)
    )


def test_an_emulator_display(tmp_path: Path) -> None:
    raw = {
        "display": {
            "type": "emulator",
            "directory": str(tmp_path),
            "mode": "L",
            "width": 256,
            "rotate": 2,
        }
    }
    display = parse(raw).display
    assert display is not None and display.directory == tmp_path and display.size == (256, 64)


REFUSALS = [
    # (path, new value, key named in the error, words in the message)
    ("display.type", "ili9341", "hardware.display.type", "ssd1306"),
    ("display.i2c.address", "0xZZ", "hardware.display.i2c.address", "i2cdetect -y 1"),
    ("display.i2c.address", 0x90, "hardware.display.i2c.address", "0x03..0x77"),
    ("display.i2c.address", True, "hardware.display.i2c.address", "malformed"),
    ("display.height", 48, "hardware.display.height", "128x64, 128x32"),
    ("display.i2c", DELETE, "hardware.display", "exactly one bus"),
    ("buttons[1].pin", 17, "hardware.buttons[1].pin", "already used by hardware.buttons[0]"),
    ("buttons[0].pin", 2, "hardware.buttons[0].pin", "hardware.display.i2c (SDA)"),
    ("buzzer.pin", 6, "hardware.buzzer.pin", "hardware.indicator.green"),
    ("buttons[0].pin", 40, "hardware.buttons[0].pin", "<= 27"),
    ("buttons[0].pin", "17", "hardware.buttons[0].pin", "whole number"),
    ("buttons[0].kind", "fire", "hardware.buttons[0].kind", "panic, staff-assist"),
    ("buttons[0].pattern", {"hold_s": 0.2}, "hardware.buttons[0].pattern", "accidental"),
    (
        "buttons[0].pattern",
        {"presses": 1, "window_s": 1.0},
        "hardware.buttons[0].pattern",
        "2 or more presses",
    ),
    (
        "buttons[0].pattern",
        {"hold_s": 1.0, "presses": 2},
        "hardware.buttons[0].pattern.presses",
        "unknown key",
    ),
    ("buttons[0].pattern", {}, "hardware.buttons[0].pattern", "hold_s"),
    ("buttons[0].hold_time", 2, "hardware.buttons[0].hold_time", "unknown key"),
    ("buttons[1].kind", "staff-assist", "hardware.buttons", "a false alarm must be cancellable"),
    ("buttons[2].stuck_after_s", 1.5, "hardware.buttons[2].stuck_after_s", "twice"),
    ("relay.port", DELETE, "hardware.relay.port", "required"),
    ("relay.port", " ", "hardware.relay.port", "by-id"),
    ("relay.actions.lockdown", [1, 3], "hardware.relay.actions.lockdown", "1..2"),
    ("relay.actions", {}, "hardware.relay.actions", "lockdown = [1, 2]"),
    ("relay.actions.Lock-Down", [1], "hardware.relay.actions.Lock-Down", "lower-case"),
    ("relay.baudrate", 9601, "hardware.relay.baudrate", "9600"),
    (
        "signs[0].port",
        "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0",
        "hardware.signs[0].port",
        "already used by hardware.relay.port",
    ),
    ("signs[0].address", "0", "hardware.signs[0].address", "two hex digits"),
    ("signs[0].mode", "blink", "hardware.signs[0].mode", "rotate, hold"),
    ("signs[0].colours.lockdown", "purple", "hardware.signs[0].colours.lockdown", "red"),
    ("pin_factory", "pigpio", "hardware.pin_factory", "lgpio, rpigpio"),
    ("indicator.type", "neopixel", "hardware.indicator.type", "rgb, led"),
    ("display", [], "hardware.display", "a table"),
]


@pytest.mark.parametrize(
    ("path", "value", "key", "words"), REFUSALS, ids=[f"{r[0]}={r[1]!r}" for r in REFUSALS]
)
def test_bad_config_names_the_key_and_the_fix(
    path: str, value: object, key: str, words: str
) -> None:
    with pytest.raises(HardwareConfigError) as caught:
        parse(changed(path, value))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{key}: ")


def test_a_panic_button_needs_a_cancel_button() -> None:
    with pytest.raises(HardwareConfigError) as caught:
        parse({"buttons": [{"pin": 17, "kind": "panic"}, {"pin": 22, "kind": "staff-assist"}]})
    assert caught.value.key == "hardware.buttons"
    assert "no cancel button" in str(caught.value)
    assert 'kind = "cancel"' in str(caught.value)


def test_buttons_without_a_panic_need_no_cancel() -> None:
    config = parse({"buttons": [{"pin": 22, "kind": "staff-assist"}]})
    assert [b.kind for b in config.buttons] == ["staff-assist"]


def test_spi_pins_are_claimed_too() -> None:
    raw = {"display": {"type": "ssd1309", "spi": {}}, "buttons": [{"pin": 24, "kind": "panic"}]}
    with pytest.raises(
        HardwareConfigError,
        match=r"GPIO24 is already used by "
        r"hardware\.display\.spi\.gpio_DC",
    ) as caught:
        parse(raw)
    assert caught.value.key == "hardware.buttons[0].pin"


def test_an_unsupported_spi_speed_is_refused() -> None:
    raw = {"display": {"type": "ssd1322", "spi": {"bus_speed_hz": 3_000_000}}}
    with pytest.raises(HardwareConfigError, match="8000000") as caught:
        parse(raw)
    assert caught.value.key == "hardware.display.spi.bus_speed_hz"


def test_another_section_key_is_used_in_messages() -> None:
    with pytest.raises(HardwareConfigError) as caught:
        parse_hardware_config({"pin_factory": 3}, key="node.hardware")
    assert caught.value.key == "node.hardware.pin_factory"


def test_the_examples_in_the_docs_parse() -> None:
    """docs/hardware.md is what technicians copy: its TOML must be valid config."""
    text = (Path(__file__).parents[2] / "docs" / "hardware.md").read_text(encoding="utf-8")
    blocks = [block.split("```")[0] for block in text.split("```toml\n")[1:]]
    full, spi_panel = (tomllib.loads(block)["hardware"] for block in blocks[:2])
    config = parse(full)
    assert [b.kind for b in config.buttons] == ["panic", "cancel", "staff-assist", "all-accounted"]
    assert config.relay is not None and config.relay.channels_on("lockdown", True) == {1}
    assert parse(spi_panel).display == DisplayConfig(
        type="ssd1322", width=256, height=64, mode="L", bus=SpiBus(bus_speed_hz=16_000_000)
    )
