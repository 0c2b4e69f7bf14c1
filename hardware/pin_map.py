"""Which BCM pins a config uses, so two parts never share one.

Two buttons on one pin would both fire; a button on GPIO2 fights the display's I2C data
line; a buzzer on the SPI clock garbles every frame. None of these shows up until a
technician is standing in a classroom, so the config is refused instead.
"""

from __future__ import annotations

from hardware.config import (
    DisplayConfig,
    HardwareConfig,
    I2cBus,
    LedIndicatorConfig,
    RgbIndicatorConfig,
    SpiBus,
)
from hardware.errors import HardwareConfigError

I2C_PINS = {1: {2: "SDA", 3: "SCL"}}
"""I2C bus 1 is the header's pins 3 and 5 (GPIO2/GPIO3)."""

SPI_PINS = {
    0: {9: "MISO", 10: "MOSI", 11: "SCLK"},
    1: {19: "MISO", 20: "MOSI", 21: "SCLK"},
}
SPI_CHIP_SELECTS = {0: (8, 7), 1: (18, 17, 16)}
"""Chip-select pin of each SPI device: SPI0 CE0=GPIO8, CE1=GPIO7; SPI1 CE0..CE2=18,17,16."""


def used_pins(config: HardwareConfig, key: str) -> list[tuple[int, str]]:
    """Every (pin, who) the config claims, ``who`` being a dotted key and a role."""
    # The display bus comes first, so a clash is reported on the part that can move.
    claims = [] if config.display is None else _bus_pins(config.display, f"{key}.display")
    claims += [(b.pin, f"{key}.buttons[{i}].pin") for i, b in enumerate(config.buttons)]
    indicator = config.indicator
    if isinstance(indicator, RgbIndicatorConfig):
        claims += [
            (pin, f"{key}.indicator.{colour}")
            for colour, pin in (
                ("red", indicator.red),
                ("green", indicator.green),
                ("blue", indicator.blue),
            )
        ]
    elif isinstance(indicator, LedIndicatorConfig):
        claims.append((indicator.pin, f"{key}.indicator.pin"))
    if config.buzzer is not None:
        claims.append((config.buzzer.pin, f"{key}.buzzer.pin"))
    return claims


def _bus_pins(display: DisplayConfig, key: str) -> list[tuple[int, str]]:
    bus = display.bus
    if isinstance(bus, I2cBus):
        return [(pin, f"{key}.i2c ({role})") for pin, role in I2C_PINS.get(bus.port, {}).items()]
    if isinstance(bus, SpiBus):
        claims = [(bus.gpio_dc, f"{key}.spi.gpio_DC"), (bus.gpio_rst, f"{key}.spi.gpio_RST")]
        claims += [(pin, f"{key}.spi ({role})") for pin, role in SPI_PINS.get(bus.port, {}).items()]
        selects = SPI_CHIP_SELECTS.get(bus.port, ())
        if bus.device < len(selects):
            claims.append((selects[bus.device], f"{key}.spi (CE{bus.device})"))
        return claims
    return []


def check_pins(config: HardwareConfig, key: str) -> None:
    """Refuse a config in which two parts claim the same pin.

    Raises:
        HardwareConfigError: naming the second claimant and the first.
    """
    owners: dict[int, str] = {}
    for pin, who in used_pins(config, key):
        if pin in owners:
            raise HardwareConfigError(
                who.split(" (")[0],
                f"GPIO{pin} is already used by {owners[pin]}",
                "Give each part its own pin; see the pin map in docs/hardware.md",
            )
        owners[pin] = who
