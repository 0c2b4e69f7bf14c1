"""The validated hardware section of a classroom node's config, as frozen dataclasses.

:func:`hardware.config_parse.parse_hardware_config` builds these from the plain dict of
the device's TOML/JSON config; drivers take them in their constructors. Defaults here are
the ones documented in ``docs/hardware.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from hardware.patterns import HoldPattern, Pattern

BUTTON_KINDS = ("panic", "staff-assist", "all-accounted", "cancel")
"""Spelled as people write them in config files and hardware profiles. This package imports
nothing of ours, so ``device.config.BUTTON_EVENTS`` maps each to the event kind it raises."""

DEFAULT_PATTERNS: Mapping[str, Pattern] = MappingProxyType(
    {
        "panic": HoldPattern(1.5),
        "staff-assist": HoldPattern(1.5),
        "all-accounted": HoldPattern(1.5),
        # Cancelling a real alarm by accident is as bad as raising a false one.
        "cancel": HoldPattern(3.0),
    }
)

PIN_FACTORIES = ("lgpio", "rpigpio", "native", "mock")

DISPLAY_SIZES: Mapping[str, tuple[tuple[int, int], ...]] = MappingProxyType(
    {
        "ssd1306": ((128, 64), (128, 32)),
        "sh1106": ((128, 64),),
        "ssd1309": ((128, 64),),
        "ssd1322": ((256, 64),),
    }
)
"""Panels we drive and the sizes we have checked them at (luma knows a few more)."""

DISPLAY_MODES: Mapping[str, str] = MappingProxyType(
    {
        "ssd1306": "1",
        "sh1106": "1",
        "ssd1309": "1",
        "ssd1322": "L",
    }
)
"""PIL mode of the frames each panel takes: monochrome, or 16-level greyscale as "L"."""

DISPLAY_TYPES = (*DISPLAY_SIZES, "dummy", "emulator")


@dataclass(frozen=True, kw_only=True)
class ButtonBinding:
    """One button: its pin, the event kind it raises and the gesture that raises it."""

    pin: int
    kind: str
    pattern: Pattern
    pull_up: bool = True
    stuck_after_s: float = 20.0
    debounce_s: float = 0.03

    @property
    def part(self) -> str:
        """Name of this part in fault reports."""
        return f"button:gpio{self.pin}"


@dataclass(frozen=True, kw_only=True)
class RgbIndicatorConfig:
    """A common-cathode (``active_high``) or common-anode RGB LED on three pins."""

    red: int
    green: int
    blue: int
    active_high: bool = True
    pwm: bool = True


@dataclass(frozen=True, kw_only=True)
class LedIndicatorConfig:
    """A single-colour LED: any non-black colour lights it."""

    pin: int
    active_high: bool = True
    pwm: bool = False


IndicatorConfig = RgbIndicatorConfig | LedIndicatorConfig


@dataclass(frozen=True, kw_only=True)
class BuzzerConfig:
    """An active buzzer (on/off), or a passive piezo driven at ``tone_hz`` by PWM."""

    pin: int
    active_high: bool = True
    tone_hz: float | None = None
    chirp_s: float = 0.08


@dataclass(frozen=True, kw_only=True)
class I2cBus:
    """luma's ``i2c(port, address)``."""

    port: int = 1
    address: int = 0x3C


@dataclass(frozen=True, kw_only=True)
class SpiBus:
    """luma's ``spi(port, device, gpio_DC, gpio_RST, bus_speed_hz)``."""

    port: int = 0
    device: int = 0
    gpio_dc: int = 24
    gpio_rst: int = 25
    bus_speed_hz: int = 8_000_000


@dataclass(frozen=True, kw_only=True)
class DisplayConfig:
    """Which panel, its size and the bus it hangs on (none for dummy and emulator)."""

    type: str
    width: int
    height: int
    mode: str
    rotate: int = 0
    bus: I2cBus | SpiBus | None = None
    directory: Path | None = None
    keep_frames: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """Frame size the renderer must produce (rotation swaps the sides)."""
        return (self.height, self.width) if self.rotate % 2 else (self.width, self.height)


def _frozen_map(data: Mapping[str, frozenset[int]] | None = None) -> Mapping[str, frozenset[int]]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """An LCUS-type USB relay module and which channels each directive switches on."""

    port: str
    baudrate: int = 9600
    channels: int = 1
    actions: Mapping[str, frozenset[int]] = field(default_factory=_frozen_map)
    drill_actions: Mapping[str, frozenset[int]] = field(default_factory=_frozen_map)
    refresh_s: float = 30.0
    frame_gap_s: float = 0.05

    @property
    def part(self) -> str:
        """Name of this part in fault reports."""
        return f"relay:{self.port}"

    def channels_on(self, action: str, drill: bool) -> frozenset[int]:
        """Channels to switch on; every other channel is switched off.

        A drill uses ``drill_actions`` where it names the action (so a drill can keep the
        sounder quiet), else ``actions``. An action named nowhere (``all_clear``,
        ``release``, anything new) switches everything off.
        """
        if drill and action in self.drill_actions:
            return self.drill_actions[action]
        return self.actions.get(action, frozenset())


@dataclass(frozen=True, kw_only=True)
class SignConfig:
    """An LED message sign speaking the Alpha protocol on a serial port."""

    port: str
    baudrate: int = 9600
    address: str = "00"
    file_label: str = "A"
    position: str = "fill"
    mode: str = "hold"
    colours: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max_chars: int = 125
    refresh_s: float = 60.0

    @property
    def part(self) -> str:
        """Name of this part in fault reports."""
        return f"sign:{self.port}"


@dataclass(frozen=True, kw_only=True)
class HardwareConfig:
    """Everything under ``hardware`` in the node's config; absent parts are None/empty."""

    pin_factory: str = "lgpio"
    buttons: tuple[ButtonBinding, ...] = ()
    indicator: IndicatorConfig | None = None
    buzzer: BuzzerConfig | None = None
    display: DisplayConfig | None = None
    relay: RelayConfig | None = None
    signs: tuple[SignConfig, ...] = ()
