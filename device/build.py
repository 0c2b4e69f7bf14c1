"""The node's parts, built from the ``hardware`` section of its config.

A wrong config stops the node with a message naming the key (:class:`HardwareConfigError`):
that is a technician's typo, found at install time. A part that is configured right but
missing or broken (no display at that I2C address, a relay's USB cable out, no GPIO
chip) is a *fault*: reported by part name in the device status and as a ``fault``
event, while the node keeps running with what works. A classroom whose screen died
still has a panic button.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from device.faults import FaultRelay
from hardware.config import ButtonBinding, DisplayConfig, HardwareConfig
from hardware.config_parse import parse_hardware_config
from hardware.errors import HardwareError, PartUnavailable
from hardware.interfaces import Display, FaultHandler, Indicator, Inputs, Outputs, Sounder
from hardware.pins import make_pin_factory
from hardware.serial_outputs import open_outputs
from hardware.simulated import (
    PngDisplay,
    SimulatedIndicator,
    SimulatedInputs,
    SimulatedSounder,
)

# The GPIO and panel drivers (hardware.buttons, .leds, .displays) are imported only when
# the config has such parts: gpiozero (with the importlib.metadata, statistics and
# subprocess it imports) is ~3.5 MB resident that a node without buttons, LEDs or a
# buzzer (the PNG screen of the demo and the benchmark) would carry for nothing.

log = logging.getLogger(__name__)

DISPLAY_OVERRIDES = ("png", "emulator")
PNG_SIZE = (256, 128)
"""The PNG screen of a node with no display configured (the demo's simulated rooms)."""
EMULATOR_SIZE = (128, 64)

T = TypeVar("T")


class DisplayNotOpened(HardwareError):
    """Raised by :class:`MissingDisplay`; its text is the original fault, so the service
    (which reports a fault only when its reason changes) reports it once."""


class MissingDisplay:
    """Stands in for a display that could not be opened.

    It keeps the last frames it is given (a test, or a person debugging, can look at
    what the room should be seeing) and then raises, so the service reports the display
    fault and never acknowledges a directive that no one could see.
    """

    def __init__(self, size: tuple[int, int], mode: str, reason: str) -> None:
        self._size, self._mode, self.reason = size, mode, reason
        self.frames: list[Image.Image] = []

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def mode(self) -> str:
        return self._mode

    def show(self, frame: Image.Image) -> None:
        self.frames = [*self.frames[-9:], frame.copy()]
        raise DisplayNotOpened(self.reason)

    def set_brightness(self, level: float) -> None:
        """Nothing to dim."""

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class NodeHardware:
    """Everything the service drives, opened; ``close()`` releases it all, pins last."""

    display: Display
    inputs: Inputs
    indicator: Indicator
    buzzer: Sounder
    outputs: Outputs
    faults: FaultRelay
    config: HardwareConfig
    _closing: ExitStack = field(default_factory=ExitStack)

    def close(self) -> None:
        """Close every part; one failing to close does not keep the others open."""
        self._closing.close()


@dataclass(frozen=True)
class DisplayChoice:
    """Where frames go when the config's display is overridden (``--display``)."""

    kind: str | None = None
    """None: as configured; "png": a PNG file; "emulator": luma.emulator frames."""
    png: Path = Path("screen.png")
    frames: Path = Path("frames")


def build_hardware(
    raw: Mapping[str, object],
    *,
    choice: DisplayChoice | None = None,
    pin_factory: Any = None,
) -> NodeHardware:
    """Open every part ``raw`` (the ``hardware`` section) describes; outputs never raise
    for a missing device (they report it and retry), other parts become faults.

    Args:
        raw: The section as read from the config; empty means simulated parts and a PNG
            screen (the demo, and a node being set up).
        choice: A display override; by default the configured display.
        pin_factory: A gpiozero factory to use instead of ``pin_factory`` from the
            config (tests pass a ``MockFactory`` they can press buttons on).

    Raises:
        HardwareConfigError: the section is wrong; names the key and the fix.
    """
    config = parse_hardware_config(raw)
    relay = FaultRelay()
    with ExitStack() as stack:  # an unexpected error closes what was opened so far
        pins = _pins(config, pin_factory, relay, stack)
        display = stack.enter_context(closing(_display(config, choice or DisplayChoice(), relay)))
        inputs = stack.enter_context(closing(_inputs(config.buttons, pins, relay)))
        indicator, buzzer = _indicator_and_buzzer(config, pins, relay, stack)
        outputs = stack.enter_context(closing(open_outputs(config, on_fault=relay)))
        return NodeHardware(
            display, inputs, indicator, buzzer, outputs, relay, config, stack.pop_all()
        )


def _indicator_and_buzzer(
    config: HardwareConfig, pins: Any, report: FaultHandler, stack: ExitStack
) -> tuple[Indicator, Sounder]:
    indicator: Indicator = SimulatedIndicator()
    if config.indicator is not None and pins is not None:
        from hardware.leds import open_indicator  # gpiozero: see the note at the top

        led = config.indicator
        indicator = _opened(lambda: open_indicator(led, pin_factory=pins), indicator, report)
    buzzer: Sounder = SimulatedSounder()
    if config.buzzer is not None and pins is not None:
        from hardware.leds import GpioBuzzer

        sounder = config.buzzer
        buzzer = _opened(lambda: GpioBuzzer(sounder, pin_factory=pins), buzzer, report)
    stack.callback(indicator.close)
    stack.callback(buzzer.close)
    return indicator, buzzer


def _opened(opener: Callable[[], T], fallback: T, report: FaultHandler) -> T:
    """The opened part, or ``fallback`` and a fault naming the part and the fix."""
    try:
        return opener()
    except PartUnavailable as error:
        log.warning("%s", error)
        report(error.part, str(error))
        return fallback


def _pins(config: HardwareConfig, given: Any, report: FaultHandler, stack: ExitStack) -> Any:
    """The pin factory, when any part needs GPIO; closed last (so pushed first)."""
    if given is not None:
        return given
    if not (config.buttons or config.indicator or config.buzzer):
        return None
    pins = _opened(lambda: make_pin_factory(config.pin_factory), None, report)
    if pins is not None:
        stack.callback(pins.close)
    return pins


def _inputs(bindings: tuple[ButtonBinding, ...], pins: Any, report: FaultHandler) -> Inputs:
    """All buttons; if some cannot be claimed, the others still work and those are faults."""
    if not bindings or pins is None:
        return SimulatedInputs()
    from hardware.buttons import GpioInputs  # gpiozero: see the note at the top

    try:
        return GpioInputs(bindings, pin_factory=pins)
    except PartUnavailable:
        pass
    usable = [binding for binding in bindings if _claimable(binding, pins, report)]
    fallback: Inputs = SimulatedInputs()
    return _opened(lambda: GpioInputs(usable, pin_factory=pins), fallback, report)


def _claimable(binding: ButtonBinding, pins: Any, report: FaultHandler) -> bool:
    """Whether this one button's pin can be claimed; if not, it is reported as a fault."""
    from hardware.buttons import GpioInputs

    try:
        GpioInputs([binding], pin_factory=pins).close()
    except PartUnavailable as error:
        log.warning("%s", error)
        report(error.part, str(error))
        return False
    return True


def _display(config: HardwareConfig, choice: DisplayChoice, report: FaultHandler) -> Display:
    configured = config.display
    if choice.kind == "png" or (choice.kind is None and configured is None):
        size, mode = (configured.size, configured.mode) if configured else (PNG_SIZE, "1")
        return PngDisplay(choice.png, size=size, mode=mode)
    if choice.kind == "emulator":
        width, height = (configured.width, configured.height) if configured else EMULATOR_SIZE
        emulated = DisplayConfig(
            type="emulator",
            width=width,
            height=height,
            mode=configured.mode if configured else "1",
            rotate=configured.rotate if configured else 0,
            directory=choice.frames,
        )
        configured = emulated
    assert configured is not None
    from hardware.displays import open_display  # luma: see the note at the top

    try:
        return open_display(configured)
    except PartUnavailable as error:
        log.warning("%s", error)
        report(error.part, str(error))
        return MissingDisplay(configured.size, configured.mode, str(error))
