"""Our own exceptions for hardware trouble, with messages a person can act on.

Library and OS errors (luma's ``DeviceNotFoundError``, gpiozero's ``GPIOPinInUse``, an
``OSError`` from a vanished serial port) say what broke in the library's words. The
person reading the log is an IT technician in a school: they need the config key, the
bus, address or pin, and the next step. Every exception here carries those.
"""

from __future__ import annotations


class HardwareError(Exception):
    """Base of every error raised by ``hardware``: catch this to catch them all."""


class HardwareConfigError(HardwareError, ValueError):
    """The hardware section of the config is wrong: the service cannot start as written.

    Attributes:
        key: Dotted config key at fault, e.g. ``hardware.display.i2c.address``.
        problem: What is wrong with it.
        fix: What to do about it.
    """

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(f"{key}: {problem}. {fix}")


class PartUnavailable(HardwareError):
    """A configured part cannot be reached (not wired, wrong address, no permission...).

    Attributes:
        part: Which part, e.g. ``display`` or ``button:gpio17``.
        where: Bus/address/pin/port as a person finds it on the board.
        fix: What to check or run next.
    """

    def __init__(self, part: str, where: str, problem: str, fix: str) -> None:
        self.part = part
        self.where = where
        self.problem = problem
        self.fix = fix
        super().__init__(f"{part} ({where}): {problem}. {fix}")


class FrameMismatch(HardwareError, ValueError):
    """A frame does not fit the display: a bug in the renderer, not in the wiring.

    Raised instead of silently converting, because a converted frame (dithered, cropped)
    would differ from the one the device acknowledged as shown.
    """
