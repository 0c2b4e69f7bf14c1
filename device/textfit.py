"""Measuring, wrapping and sizing text for the layout engine in :mod:`device.screen`.

One-bit text is hinted differently (wider) than anti-aliased text, so everything is
measured in the mode it is drawn in: a line that fits when measured in "L" can overflow
a monochrome panel by a pixel or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageFont

from device.fonts import BUNDLED, face_of, load

Font = ImageFont.FreeTypeFont

SMALLEST = 6
BOLD_FROM = 14
"""Font size from which the term is drawn bold; below it the strokes would merge."""
MONO_FLOOR = 10
"""Smallest size that stays legible without anti-aliasing: at 8 and 9 pixels the
hinted one-bit glyphs lose the colon of "10:42" and turn "staff" into "slall"."""


@dataclass(frozen=True)
class Measure:
    """Measures text as it will be drawn on a panel of PIL mode ``panel``."""

    panel: str
    face: str = BUNDLED
    """The typeface the text is drawn in (:mod:`device.fonts`): one per language's page."""

    @property
    def mode(self) -> str:
        return "1" if self.panel == "1" else "L"

    @property
    def floor(self) -> int:
        """Smallest font size worth using on this panel when there is any choice."""
        return MONO_FLOOR if self.panel == "1" else 8

    def width(self, text: str, font: Font) -> int:
        left, _, right, _ = _box(text, int(font.size), self.mode, face_of(font))
        return right - left

    def height(self, text: str, font: Font) -> int:
        _, top, _, bottom = _box(text, int(font.size), self.mode, face_of(font))
        return bottom - top

    def font(self, size: int) -> Font:
        return font(size, self.face)


def text_box(text: str, sized: Font, mode: str) -> tuple[int, int, int, int]:
    """``sized.getbbox(text, mode=mode)``, remembered (every font comes from ``font()``)."""
    return _box(text, int(sized.size), mode, face_of(sized))


@lru_cache(maxsize=4096)
def _box(text: str, size: int, mode: str, face: str = BUNDLED) -> tuple[int, int, int, int]:
    """A glyph run's box, remembered: fitting a term tries dozens of sizes, and every room
    (and every redraw) fits the same few terms and directive texts again. Profiling the
    fan-out showed FreeType measuring as 70 % of a frame's cost before this cache.

    Bounded, since every new text (a note, a location, each minute of the clock) adds
    entries for as long as a node runs: 16384 of them were ~6 MB. A long directive's
    layout measures ~1500."""
    left, top, right, bottom = font(size, face).getbbox(text, mode=mode)
    return int(left), int(top), int(right), int(bottom)


@dataclass(frozen=True)
class Fitted:
    """The term laid out: its lines, the font, whether bold, the line pitch and height.

    Bold is a one-pixel horizontal smear added after drawing (Pillow's stroke closes the
    gaps in E and B on a one-bit panel), so the width budget keeps a column for it.
    """

    lines: tuple[str, ...]
    font: Font
    bold: int
    """Columns the strokes are widened by: about a twelfth of the font size."""
    pitch: int
    height: int


def font(size: int, face: str = BUNDLED) -> Font:
    """``face`` at ``size`` (never below :data:`SMALLEST`); by default Pillow's bundled
    font, which needs no font files on a node (see :mod:`device.fonts` for the others)."""
    return load(max(SMALLEST, size), face)


LINE_PROBE = "AÅlkgjy(),"
"""Glyphs reaching the highest and lowest a line of text can: sizes a line's box."""


def line_top(body: Font) -> int:
    """Offset from the font's ascender line to the top of the tallest glyph."""
    return _box(LINE_PROBE, int(body.size), "1", face_of(body))[1]


def pitch(body: Font) -> int:
    """Distance from one body line's top to the next's: glyph height plus a small gap."""
    _, top, _, bottom = _box(LINE_PROBE, int(body.size), "1", face_of(body))
    return bottom - top + max(1, int(body.size) // 8)


def block_height(lines: int, body: Font) -> int:
    return lines * pitch(body)


@lru_cache(maxsize=256)  # the clock alone brings a new text every minute
def fit_line(text: str, width: int, height: int, measure: Measure) -> Font:
    """The largest font in which ``text`` fits in one line of ``width`` x ``height``."""
    for size in range(max(SMALLEST, int(height / 0.7)), SMALLEST, -1):
        left, top, right, bottom = _box(text, size, measure.mode, measure.face)
        if bottom - top <= height and right - left <= width:
            return measure.font(size)
    return measure.font(SMALLEST)


def shorten(text: str, width: int, height: int, measure: Measure) -> tuple[str, Font]:
    """A label for a bar: shrunk to fit, down to a readable size, then shortened with "..."."""
    smallest = max(7, int(height * 0.75))
    chosen = fit_line(text, width, height, measure)
    if chosen.size >= smallest or not text:
        return text, chosen
    chosen = measure.font(smallest)
    while len(text) > 1 and measure.width(text + "...", chosen) > width:
        text = text[:-1].rstrip()
    return text + "...", chosen


def wrap(text: str, body: Font, width: int, measure: Measure) -> list[str]:
    """Word-wrap to ``width``; a word wider than a line is split, never cut."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if measure.width(candidate, body) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            while measure.width(line, body) > width and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and measure.width(line[:cut], body) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return [line for line in lines if line]


@lru_cache(maxsize=64)
def fit_term(text: str, width: int, height: int, measure: Measure) -> Fitted:
    """The term as large as fits: one line, or split over two or three if that is larger."""
    words = text.split()
    best: Fitted | None = None
    for count in range(1, min(3, len(words)) + 1):
        fitted = _fit_lines(_balanced(words, count), width, height, measure)
        if fitted is not None and (best is None or fitted.font.size > best.font.size):
            best = fitted
    if best is not None:
        return best
    # Longer than any panel can show in large type: wrap it small rather than cut it.
    small = measure.font(SMALLEST)
    lines = tuple(wrap(text, small, width, measure))
    return Fitted(lines, small, 0, pitch(small), len(lines) * pitch(small))


def _fit_lines(lines: tuple[str, ...], width: int, height: int, measure: Measure) -> Fitted | None:
    for size in range(int(height / 0.7) + 1, SMALLEST - 1, -1):
        candidate = measure.font(size)
        bold = max(1, size // 12) if size >= BOLD_FROM else 0
        widest = max(measure.width(line, candidate) for line in lines) + bold
        line_h = max(measure.height(line, candidate) for line in lines)
        step = measure.height("AG", candidate) + max(2, size // 8)
        total = line_h + step * (len(lines) - 1)
        if widest <= width and total <= height:
            return Fitted(lines, candidate, bold, step, total)
    return None


def _balanced(words: list[str], count: int) -> tuple[str, ...]:
    """Split words into ``count`` lines of as even a length (in characters) as possible."""
    if count <= 1:
        return (" ".join(words),)
    best: tuple[str, ...] = ()
    longest = None
    for first in range(1, len(words) - count + 2):
        head = " ".join(words[:first])
        rest = _balanced(words[first:], count - 1)
        worst = max(len(head), *(len(line) for line in rest))
        if longest is None or worst < longest:
            best, longest = (head, *rest), worst
    return best
