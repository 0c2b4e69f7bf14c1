"""Simulated classroom hardware for the demo and the simulator.

The display writes each frame as a PNG (atomically, so a viewer never reads half a
file); the inputs are driven by calling :meth:`SimulatedInputs.activate`; the indicator,
the outputs (relays and signs) and the sounder remember what they were told, so a test
can ask what a room's strobe or buzzer would have done.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

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
        temporary.write_bytes(_png(frame.mode, frame.size, frame.tobytes()))
        temporary.replace(self._path)
        self.last_frame = frame.copy()
        self.frames_shown += 1

    def set_brightness(self, level: float) -> None:
        self.brightness = max(0.0, min(1.0, level))

    def close(self) -> None:
        """Frames stay on disk: like an OLED with ``persist=True``."""


PNG_FORMATS = {"1": (1, 0), "L": (8, 0), "RGB": (8, 2)}
"""PIL mode -> PNG bit depth and colour type (0 greyscale, 2 truecolour). PIL packs a "1"
frame's rows as PNG does: eight pixels a byte, first pixel in the high bit, 1 = white."""


@lru_cache(maxsize=4)
def _png(mode: str, size: tuple[int, int], pixels: bytes) -> bytes:
    """A frame as PNG, encoded once for every simulated room that shows the same frame
    (a drill frame is the same in every room; encoding is most of a simulated draw).

    Written with zlib, not Pillow's ``save``: that imports Pillow's five default image
    plugins (and fractions and decimal with them), ~1.1 MB resident for the life of a
    node that has a PNG screen, to write three chunks.
    """
    if mode not in PNG_FORMATS:
        buffer = io.BytesIO()
        Image.frombytes(mode, size, pixels).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
    depth, colour = PNG_FORMATS[mode]
    width, height = size
    stride = len(pixels) // height
    rows = b"".join(b"\x00" + pixels[row : row + stride] for row in range(0, len(pixels), stride))
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows, 1)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, and the CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


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
    """Remembers the colour and pattern it was last told to show, and every change."""

    def __init__(self) -> None:
        self.colour: RGB = (0.0, 0.0, 0.0)
        self.pattern = "off"
        self.history: list[tuple[RGB, str]] = []

    def show(self, colour: RGB, pattern: str) -> None:
        if (colour, pattern) != (self.colour, self.pattern):
            self.history.append((colour, pattern))
        self.colour = colour
        self.pattern = pattern

    def close(self) -> None:
        self.show((0.0, 0.0, 0.0), "off")


class SimulatedOutputs:
    """Relays and signs that remember every directive they were told, in order.

    ``applied`` is the history a test reads (did All clear switch the strobe off?).
    """

    def __init__(self) -> None:
        self.applied: list[tuple[str, bool, str]] = []
        self.closed = False

    @property
    def current(self) -> tuple[str, bool, str] | None:
        """The last directive applied, or None before the first."""
        return self.applied[-1] if self.applied else None

    def apply(self, action: str, drill: bool, text: str) -> None:
        self.applied.append((action, drill, text))

    def close(self) -> None:
        self.closed = True


class SimulatedSounder:
    """A buzzer that counts its chirps instead of making a sound."""

    def __init__(self) -> None:
        self.chirps: list[int] = []

    @property
    def total(self) -> int:
        """Beeps sounded so far."""
        return sum(self.chirps)

    def chirp(self, count: int = 1) -> None:
        self.chirps.append(count)

    def close(self) -> None:
        """Nothing to release."""


if TYPE_CHECKING:  # mypy proves the fakes fit the protocols the service types against
    from hardware.interfaces import Display, Indicator, Inputs, Outputs, Sounder

    def _fits(
        display: PngDisplay,
        inputs: SimulatedInputs,
        indicator: SimulatedIndicator,
        outputs: SimulatedOutputs,
        sounder: SimulatedSounder,
    ) -> tuple[Display, Inputs, Indicator, Outputs, Sounder]:
        return display, inputs, indicator, outputs, sounder
