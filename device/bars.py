"""The bars of a frame, and the geometry they leave the body in (see :mod:`device.screen`).

The top bar names the room and the time, or is an inverted drill banner; the link bar
at the bottom says the hub is not heard. A simulated node's top bar says SIMULATED in
both forms, so that no frame of a simulator, a drill frame included, passes for a
classroom's. The top bar is cached by what it shows: a drill banner shows neither room
nor time, so every real room shares one and every simulated room shares another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, lru_cache

from PIL import Image, ImageDraw

from device.fonts import BUNDLED, drawing_face
from device.textfit import Font, Measure, fit_line, shorten, text_box

SIMULATED = "SIMULATED"
"""What a simulated node's top bar says, before the room's name or in the drill banner."""


@dataclass(frozen=True)
class Geometry:
    """Where the bars end and the body lies, for one size and link state."""

    width: int
    height: int
    mode: str
    bar: int
    top: int
    bottom: int
    face: str = BUNDLED
    """The typeface of the text in it: the body's is its language's (:mod:`device.fonts`)."""

    @property
    def space(self) -> int:
        return self.bottom - self.top

    @property
    def measure(self) -> Measure:
        return Measure(self.mode, self.face)

    def for_text(self, text: str) -> Geometry:
        """The same geometry, in the first face that has every glyph of ``text`` (or the
        most of them: a frame is always drawn)."""
        return replace(self, face=drawing_face(text))


def geometry(size: tuple[int, int], mode: str, *, link_bar: bool) -> Geometry:
    width, height = size
    # Tall enough for "LINK LOST 2m ago" (a descender) at the smallest legible size.
    bar = max(10, round(height / 6))
    top = bar + 1 if _ruled(height) else bar  # a pixel between the rule and the term
    return Geometry(width, height, mode, bar, top, height - (bar if link_bar else 0))


def _ruled(height: int) -> bool:
    """Whether the top bar has a rule under it: not on 32-pixel panels, short of rows."""
    return height >= 48


@lru_cache(maxsize=8)
def top_bar(drill: bool, simulated: bool, room: str, clock: str, g: Geometry) -> Image.Image:
    """The bar across the top: the room and the time, or the DRILL banner."""
    image = Image.new(g.mode, (g.width, g.bar))
    draw = ImageDraw.Draw(image)
    fg, bg = ink(g.mode), ink(g.mode, (0, 0, 0))
    if drill:
        # Inverted, so DRILL reads as a banner even on a one-colour OLED.
        draw.rectangle((0, 0, g.width - 1, g.bar - 1), fill=fg)
        banner = _drill_banner(g, simulated)
        box = (1, 0, g.width - 1, g.bar)
        place(draw, banner, _bar_font(g, banner), box, "centre", bg, g.measure)
        return image
    text_h = g.bar - 2
    if _ruled(g.height):
        # A rule under the bar keeps the room and time apart from the term below them.
        draw.line((0, g.bar - 1, g.width - 1, g.bar - 1), fill=fg)
        text_h -= 1
    box = (1, 0, g.width - 1, text_h + 1)
    clock_font = fit_line(clock or "0", g.width, text_h, g.measure)
    clock_w = g.measure.width(clock, clock_font) if clock else 0
    place(draw, clock, clock_font, box, "right", fg, g.measure)
    # Shortened from its end, in the width the clock leaves, so SIMULATED at its start stays.
    label = f"{SIMULATED} {room}" if simulated else room
    label, room_font = shorten(label, g.width - 2 - clock_w - 6, text_h, g.measure)
    place(draw, label, room_font, box, "left", fg, g.measure)
    return image


def _drill_banner(g: Geometry, simulated: bool) -> str:
    """As many DRILLs as fit in large type: four on a 128-pixel panel, more on a wide one.

    A simulator's banner says "SIMULATED DRILL" (both words: the drill keeps its warning),
    repeated only where that costs no type size, since SIMULATED must read as well as
    DRILL: once on a 128-pixel panel, in larger type than the DRILLs.
    """
    unit = f"{SIMULATED} DRILL" if simulated else "DRILL"
    least = _bar_font(g, unit).size if simulated else g.bar - 3
    for count in (5, 4, 3, 2):
        text = "  ".join([unit] * count)
        if _bar_font(g, text).size >= least:
            return text
    return unit


def _bar_font(g: Geometry, text: str) -> Font:
    return fit_line(text, g.width - 4, g.bar - 2, g.measure)


def draw_link_bar(draw: ImageDraw.ImageDraw, state: str, age: str, g: Geometry) -> None:
    """The inverted bar at the bottom: what is lost (``state``) and how long ago."""
    fg, bg = ink(g.mode), ink(g.mode, (0, 0, 0))
    draw.rectangle((0, g.height - g.bar, g.width - 1, g.height - 1), fill=fg)
    text = f"{state} - last contact {age}" if g.width >= 200 else f"{state} {age}"
    link_font = fit_line(text, g.width - 4, g.bar - 2, g.measure)
    box = (1, g.height - g.bar, g.width - 1, g.height)
    place(draw, text, link_font, box, "centre", bg, g.measure)


def place(
    draw: ImageDraw.ImageDraw,
    text: str,
    label_font: Font,
    box: tuple[int, int, int, int],
    align: str,
    fill: int | tuple[int, int, int],
    measure: Measure,
) -> None:
    """Draw ``text`` vertically centred in ``box`` by its inked pixels, not its font line.

    Anchors centre on the font's ascender and descender, which leaves capitals off centre
    and, in a bar only a few pixels taller than the text, pushes them out of it.
    """
    if not text:
        return
    left, top, right, bottom = text_box(text, label_font, measure.mode)
    y = box[1] + (box[3] - box[1] - (bottom - top)) // 2 - top
    if align == "left":
        x = box[0] - left
    elif align == "right":
        x = box[2] - right
    else:
        x = box[0] + (box[2] - box[0] - (right - left)) // 2 - left
    draw.text((int(x), int(y)), text, font=label_font, fill=fill)


@cache
def ink(mode: str, rgb: tuple[int, int, int] = (255, 255, 255)) -> int | tuple[int, int, int]:
    """Colour on a colour panel; full white on grey and mono panels, where hue is lost."""
    if mode == "RGB":
        return rgb
    return 255 if any(rgb) else 0
