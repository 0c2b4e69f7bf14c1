"""The small interfaces the device service drives hardware through.

Every real driver (gpiozero, luma.oled, pyserial) implements one of these, and a fake
beside it lets a test act like a finger on a button or an eye on a screen.

Threading contract: callbacks registered here may run on a library's own thread
(gpiozero calls back from its pin and hold threads). The device service hands them to
its event loop with ``loop.call_soon_threadsafe``; drivers never touch the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PIL import Image

ActivationHandler = Callable[[str], None]
"""Called with the event kind ("panic", "cancel", ...) once an input's pattern completes."""

FaultHandler = Callable[[str, str], None]
"""Called with (part, reason) when a part fails or recovers ("" reason = recovered)."""

RGB = tuple[float, float, float]


class Display(Protocol):
    """A frame buffer: the device renders a PIL image of ``size`` and ``mode`` and shows it."""

    @property
    def size(self) -> tuple[int, int]: ...

    @property
    def mode(self) -> str:
        """PIL mode of the frames this display takes: "1", "L" or "RGB"."""
        ...

    def show(self, frame: Image.Image) -> None:
        """Draw the frame. Blocking (an I2C/SPI write): call it off the event loop."""
        ...

    def set_brightness(self, level: float) -> None:
        """0.0 (off) .. 1.0 (full). Idle screens are dimmed against OLED burn-in."""
        ...

    def close(self) -> None: ...


class Inputs(Protocol):
    """The node's buttons, each bound to an event kind with its own activation pattern."""

    def start(self, on_activation: ActivationHandler, on_fault: FaultHandler) -> None: ...

    def close(self) -> None: ...


class Indicator(Protocol):
    """A status LED (or RGB LED) that shows link health and the directive colour."""

    def show(self, colour: RGB, pattern: str) -> None:
        """Pattern is one of "steady", "blink" (drill), "pulse" (link trouble), "off"."""
        ...

    def close(self) -> None: ...


class Outputs(Protocol):
    """Peripherals that follow the room's directive (relays for strobes, LED signs).

    ``apply`` states the whole current directive; an output converges to it even after
    its device was unplugged and replugged. Blocking work happens on the output's own
    thread, so ``apply`` may be called from the event loop.
    """

    def apply(self, action: str, drill: bool, text: str) -> None:
        """Action ("lockdown", "all_clear", ...), drill flag and the text to show."""
        ...

    def close(self) -> None: ...


class Sounder(Protocol):
    """A buzzer for short confirmation chirps (never for a panic press: that is silent)."""

    def chirp(self, count: int = 1) -> None: ...

    def close(self) -> None: ...
