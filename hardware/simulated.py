"""Simulated classroom hardware for the demo and the simulator.

The display writes each frame as a PNG (atomically, so a viewer never reads half a
file); the inputs are driven by calling :meth:`SimulatedInputs.activate`; the indicator
remembers what it was told.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from hardware.interfaces import RGB, ActivationHandler, FaultHandler


class PngDisplay:
    """A display whose frames land in a PNG file a person (or a test) can look at."""

    def __init__(self, path: Path, *, size: tuple[int, int] = (256, 128), mode: str = "1") -> None:
        self._path = path
        self._size = size
        self._mode = mode
        self.brightness = 1.0
        self.frames_shown = 0
        self.last_frame: Image.Image | None = None
        path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def path(self) -> Path:
        return self._path

    def show(self, frame: Image.Image) -> None:
        if frame.size != self._size:
            raise ValueError(f"frame is {frame.size}, display is {self._size}")
        temporary = self._path.with_suffix(".tmp")
        frame.save(temporary, format="PNG")
        temporary.replace(self._path)
        self.last_frame = frame.copy()
        self.frames_shown += 1

    def set_brightness(self, level: float) -> None:
        self.brightness = max(0.0, min(1.0, level))

    def close(self) -> None:
        """Frames stay on disk: like an OLED with ``persist=True``."""


class SimulatedInputs:
    """Buttons pressed by software: each :meth:`activate` is one completed pattern."""

    def __init__(self) -> None:
        self._on_activation: ActivationHandler | None = None
        self._on_fault: FaultHandler | None = None

    def start(self, on_activation: ActivationHandler, on_fault: FaultHandler) -> None:
        self._on_activation = on_activation
        self._on_fault = on_fault

    def activate(self, kind: str) -> None:
        if self._on_activation is None:
            raise RuntimeError("inputs not started")
        self._on_activation(kind)

    def fault(self, part: str, reason: str) -> None:
        if self._on_fault is None:
            raise RuntimeError("inputs not started")
        self._on_fault(part, reason)

    def close(self) -> None:
        self._on_activation = None
        self._on_fault = None


class SimulatedIndicator:
    """Remembers the colour and pattern it was last told to show."""

    def __init__(self) -> None:
        self.colour: RGB = (0.0, 0.0, 0.0)
        self.pattern = "off"

    def show(self, colour: RGB, pattern: str) -> None:
        self.colour = colour
        self.pattern = pattern

    def close(self) -> None:
        self.show((0.0, 0.0, 0.0), "off")
