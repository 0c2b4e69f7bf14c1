"""Parse and check the ``hardware`` section of a node's config.

Everything wrong that can be seen without touching hardware is refused here, before
the service starts, with the dotted key and the fix: an unknown display type, a pin
used twice (or one the display bus already owns), a malformed I2C address, a relay
without a serial port, a panic pattern too easy to trigger by accident, a panic button
with no cancel button beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from hardware.config import (
    BUTTON_KINDS,
    DEFAULT_PATTERNS,
    DISPLAY_MODES,
    DISPLAY_SIZES,
    DISPLAY_TYPES,
    PIN_FACTORIES,
    ButtonBinding,
    BuzzerConfig,
    DisplayConfig,
    HardwareConfig,
    I2cBus,
    IndicatorConfig,
    LedIndicatorConfig,
    RelayConfig,
    RgbIndicatorConfig,
    SignConfig,
    SpiBus,
)
from hardware.config_reader import Table
from hardware.errors import HardwareConfigError
from hardware.patterns import HoldPattern, Pattern, PressPattern
from hardware.pin_map import check_pins
from hardware.serial_frames import ALPHA_COLOURS, ALPHA_MODES, ALPHA_POSITIONS

LOWEST_PIN, HIGHEST_PIN = 2, 27
"""BCM GPIO2..GPIO27 are on the 40-pin header; GPIO0/1 belong to the HAT ID EEPROM."""

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
SPI_SPEEDS_HZ = tuple(
    int(mhz * 1_000_000) for mhz in (0.5, 1, 2, 4, 8, 16, 20, 24, 28, 32, 36, 40, 44, 48, 50, 52)
)
"""The bus speeds luma.core's ``spi`` accepts (it asserts on anything else)."""

_ACTION = re.compile(r"^[a-z][a-z_]*$")
_HEX_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}$")


def parse_hardware_config(raw: Mapping[str, object], *, key: str = "hardware") -> HardwareConfig:
    """Validate the plain dict found under ``key`` and return frozen dataclasses.

    Raises:
        HardwareConfigError: naming the offending key and what to write instead.
    """
    table = Table(raw, key)
    indicator, buzzer, display = (
        table.table("indicator"),
        table.table("buzzer"),
        table.table("display"),
    )
    relay = table.table("relay")
    config = HardwareConfig(
        pin_factory=table.choice("pin_factory", PIN_FACTORIES, "lgpio"),
        buttons=tuple(_button(item) for item in table.tables("buttons")),
        indicator=None if indicator is None else _indicator(indicator),
        buzzer=None if buzzer is None else _buzzer(buzzer),
        display=None if display is None else _display(display),
        relay=None if relay is None else _relay(relay),
        signs=tuple(_sign(item) for item in table.tables("signs")),
    )
    table.finish()
    check_pins(config, key)
    _check_ports(config, key)
    _check_cancellable(config, key)
    return config


def _check_cancellable(config: HardwareConfig, key: str) -> None:
    """A panic button needs a cancel button: a false alarm must be cancellable."""
    kinds = {button.kind for button in config.buttons}
    if "panic" in kinds and "cancel" not in kinds:
        raise HardwareConfigError(
            f"{key}.buttons",
            "a panic button is bound but no cancel button",
            'Add a button with kind = "cancel" (held 3 s by default): a false alarm must '
            "be cancellable from the room, and the alert and its cancellation both stay "
            "in the record",
        )


def _pin(table: Table, name: str) -> int:
    return table.integer(name, low=LOWEST_PIN, high=HIGHEST_PIN)


def _button(table: Table) -> ButtonBinding:
    kind = table.choice("kind", BUTTON_KINDS)
    patterns = table.table("pattern")
    pattern = DEFAULT_PATTERNS[kind] if patterns is None else _pattern(patterns)
    if kind == "panic" and not _deliberate(pattern):
        raise HardwareConfigError(
            table.child("pattern"),
            "a panic pattern this short fires on an accidental bump",
            "Hold for at least 0.5 s or use 2 or more presses",
        )
    binding = ButtonBinding(
        pin=_pin(table, "pin"),
        kind=kind,
        pattern=pattern,
        pull_up=table.get("pull_up", bool, True),
        stuck_after_s=table.number("stuck_after_s", 20.0, above=0, at_most=3600),
        debounce_s=table.number("debounce_s", 0.03, at_least=0, at_most=0.25),
    )
    if binding.stuck_after_s <= 2 * pattern.duration_s:
        raise HardwareConfigError(
            table.child("stuck_after_s"),
            f"{binding.stuck_after_s:g} s is too close to the pattern's own "
            f"{pattern.duration_s:g} s",
            "Make it more than twice as long, so a deliberate gesture is never taken for a fault",
        )
    table.finish()
    return binding


def _deliberate(pattern: Pattern) -> bool:
    if isinstance(pattern, HoldPattern):
        return pattern.hold_s >= 0.5
    return pattern.presses >= 2


def _pattern(table: Table) -> Pattern:
    pattern: Pattern
    if "hold_s" in table:
        pattern = HoldPattern(table.number("hold_s", above=0, at_most=10))
    elif "presses" in table:
        pattern = PressPattern(
            table.integer("presses", low=1, high=10), table.number("window_s", above=0, at_most=10)
        )
    else:
        raise HardwareConfigError(
            table.key, "names no gesture", "Give hold_s (seconds), or presses and window_s"
        )
    table.finish()  # refuses a pattern that mixes hold_s with presses
    return pattern


def _indicator(table: Table) -> IndicatorConfig:
    kind = table.choice("type", ("rgb", "led"))
    indicator: IndicatorConfig
    if kind == "rgb":
        indicator = RgbIndicatorConfig(
            red=_pin(table, "red"),
            green=_pin(table, "green"),
            blue=_pin(table, "blue"),
            active_high=table.get("active_high", bool, True),
            pwm=table.get("pwm", bool, True),
        )
    else:
        indicator = LedIndicatorConfig(
            pin=_pin(table, "pin"),
            active_high=table.get("active_high", bool, True),
            pwm=table.get("pwm", bool, False),
        )
    table.finish()
    return indicator


def _buzzer(table: Table) -> BuzzerConfig:
    buzzer = BuzzerConfig(
        pin=_pin(table, "pin"),
        active_high=table.get("active_high", bool, True),
        tone_hz=table.number("tone_hz", above=20, at_most=20_000) if "tone_hz" in table else None,
        chirp_s=table.number("chirp_s", 0.08, above=0, at_most=1.0),
    )
    table.finish()
    return buzzer


def _display(table: Table) -> DisplayConfig:
    kind = table.choice("type", DISPLAY_TYPES)
    rotate = table.integer("rotate", 0, low=0, high=3)
    if kind in DISPLAY_SIZES:
        config = _panel(table, kind, rotate)
    else:
        config = DisplayConfig(
            type=kind,
            rotate=rotate,
            width=table.integer("width", 128, low=8, high=1024),
            height=table.integer("height", 64, low=8, high=1024),
            mode=table.choice("mode", ("1", "L", "RGB"), "1"),
            directory=Path(table.get("directory", str)) if kind == "emulator" else None,
            keep_frames=table.get("keep_frames", bool, False) if kind == "emulator" else False,
        )
    table.finish()
    return config


def _panel(table: Table, kind: str, rotate: int) -> DisplayConfig:
    default_width, default_height = DISPLAY_SIZES[kind][0]
    width = table.integer("width", default_width)
    height = table.integer("height", default_height)
    if (width, height) not in DISPLAY_SIZES[kind]:
        sizes = ", ".join(f"{w}x{h}" for w, h in DISPLAY_SIZES[kind])
        raise HardwareConfigError(
            table.child("height"), f"{kind} is not made at {width}x{height}", f"Use one of {sizes}"
        )
    i2c, spi = table.table("i2c"), table.table("spi")
    if (i2c is None) == (spi is None):
        raise HardwareConfigError(
            table.key,
            f"a {kind} needs exactly one bus",
            "Add an i2c table (port, address) or an spi table (port, device, gpio_DC, "
            "gpio_RST, bus_speed_hz), as wired",
        )
    bus = _i2c(i2c) if i2c is not None else _spi(spi) if spi is not None else None
    return DisplayConfig(
        type=kind, width=width, height=height, rotate=rotate, mode=DISPLAY_MODES[kind], bus=bus
    )


def _i2c(table: Table) -> I2cBus:
    port = table.integer("port", 1, low=0, high=22)
    address = table.get("address", object, 0x3C)
    bus = I2cBus(port=port, address=_i2c_address(address, table.child("address"), port))
    table.finish()
    return bus


def _i2c_address(value: object, key: str, port: int) -> int:
    fix = (
        f'Write it as 0x3C (a number) or "0x3C" (a string); run i2cdetect -y {port} '
        "to see the address the display answers on"
    )
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise HardwareConfigError(key, f"malformed I2C address {value!r}", fix)
    try:
        address = value if isinstance(value, int) else int(value.strip(), 16)
    except ValueError:
        raise HardwareConfigError(key, f"malformed I2C address {value!r}", fix) from None
    if not 0x03 <= address <= 0x77:
        raise HardwareConfigError(key, f"I2C address {address:#04x} is outside 0x03..0x77", fix)
    return address


def _spi(table: Table) -> SpiBus:
    speed = table.integer("bus_speed_hz", 8_000_000)
    if speed not in SPI_SPEEDS_HZ:
        raise HardwareConfigError(
            table.child("bus_speed_hz"),
            f"{speed} Hz is not a speed luma supports",
            "Use 8000000 or one of " + ", ".join(map(str, SPI_SPEEDS_HZ)),
        )
    bus = SpiBus(
        port=table.integer("port", 0, low=0, high=6),
        device=table.integer("device", 0, low=0, high=2),
        gpio_dc=_pin_or(table, "gpio_DC", 24),
        gpio_rst=_pin_or(table, "gpio_RST", 25),
        bus_speed_hz=speed,
    )
    table.finish()
    return bus


def _pin_or(table: Table, name: str, default: int) -> int:
    return table.integer(name, default, low=LOWEST_PIN, high=HIGHEST_PIN)


def _relay(table: Table) -> RelayConfig:
    channels = table.integer("channels", 1, low=1, high=8)
    relay = RelayConfig(
        port=_port(table),
        baudrate=_baud(table),
        channels=channels,
        actions=_channel_map(table.table("actions"), channels),
        drill_actions=_channel_map(table.table("drill_actions"), channels),
        refresh_s=table.number("refresh_s", 30.0, above=0, at_most=3600),
        frame_gap_s=table.number("frame_gap_s", 0.05, at_least=0, at_most=1),
    )
    if not relay.actions:
        raise HardwareConfigError(
            table.child("actions"),
            "no directive switches any relay",
            "Map actions to channels, e.g. lockdown = [1, 2]",
        )
    table.finish()
    return relay


def _channel_map(table: Table | None, channels: int) -> Mapping[str, frozenset[int]]:
    if table is None:
        return MappingProxyType({})
    result: dict[str, frozenset[int]] = {}
    for action in table.names():
        key = table.child(action)
        if not _ACTION.match(action):
            raise HardwareConfigError(
                key,
                "is not a directive action",
                "Use lower-case names such as lockdown, evacuate, shelter, secure, hold",
            )
        listed = table.get(action, list)
        if not all(
            isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= channels for c in listed
        ):
            raise HardwareConfigError(
                key,
                f"channels must be numbers 1..{channels}, got {listed!r}",
                "List the relay channels to switch on",
            )
        result[action] = frozenset(listed)
    return MappingProxyType(result)


def _port(table: Table) -> str:
    port = table.get("port", str)
    if not port.strip():
        raise HardwareConfigError(
            table.child("port"),
            "is empty",
            "Give the serial device, preferably its stable /dev/serial/by-id/... path",
        )
    return port


def _baud(table: Table) -> int:
    baudrate = table.integer("baudrate", 9600)
    if baudrate not in BAUD_RATES:
        raise HardwareConfigError(
            table.child("baudrate"),
            f"{baudrate} is not a standard rate",
            "Use 9600 unless the device's manual says otherwise",
        )
    return baudrate


def _sign(table: Table) -> SignConfig:
    address = table.get("address", str, "00")
    if not _HEX_ADDRESS.match(address):
        raise HardwareConfigError(
            table.child("address"),
            f"{address!r} is not a sign address",
            'Use two hex digits; "00" reaches every sign',
        )
    label = table.get("file_label", str, "A")
    if len(label) != 1 or not (label.isascii() and label.isalnum()):
        raise HardwareConfigError(
            table.child("file_label"),
            f"{label!r} is not a file label",
            'Use one letter; "A" is the file signs show by default',
        )
    colours = table.table("colours")
    sign = SignConfig(
        port=_port(table),
        baudrate=_baud(table),
        address=address.upper(),
        file_label=label,
        position=table.choice("position", tuple(ALPHA_POSITIONS), "fill"),
        mode=table.choice("mode", tuple(ALPHA_MODES), "hold"),
        colours=MappingProxyType(
            {}
            if colours is None
            else {
                action: colours.choice(action, tuple(ALPHA_COLOURS)) for action in colours.names()
            }
        ),
        max_chars=table.integer("max_chars", 125, low=1, high=1000),
        refresh_s=table.number("refresh_s", 60.0, above=0, at_most=3600),
    )
    table.finish()
    return sign


def _check_ports(config: HardwareConfig, key: str) -> None:
    seen: dict[str, str] = {}
    named = [] if config.relay is None else [(config.relay.port, f"{key}.relay.port")]
    named += [(sign.port, f"{key}.signs[{i}].port") for i, sign in enumerate(config.signs)]
    for port, port_key in named:
        if port in seen:
            raise HardwareConfigError(
                port_key,
                f"{port} is already used by {seen[port]}",
                "Give each serial device its own port",
            )
        seen[port] = port_key
