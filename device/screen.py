"""The layout engine: one function draws every screen for every display size.

The term is drawn as large as fits and in bold, because it must be read across a
classroom; the directive under it gets the largest size that still leaves the term at
least :data:`TERM_SHARE` of the space. Text that does not fit is wrapped, then paged
("1/2" in the corner, the term repeated on every page): never cut off silently. When the
link is lost the last directive stays visible under a bar that says so, with its age.
A drill replaces the room name with an inverted DRILL banner, so no one mistakes it.
Every frame of a simulated node says SIMULATED, in its drill banner too. The bars are
drawn by :mod:`device.bars`; this module lays out the body between them.

A frame is drawn in layers, each cached by what it shows: the body (term, text, page
marker), the term within it, and the top bar. FreeType rasterising is most of a frame's
cost, and a frame is often drawn again with the same parts: every room of a simulator
process shows the same directive, a node goes back to a view it showed before (link lost
and back, a page flip), a drill frame does not show the room at all (simulated rooms
share their own drill bar), and the terms are a handful. The caches are small, since an
800x480 colour layer is a megabyte, and their images are never drawn on, only copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw

from device.bars import Geometry, draw_link_bar, geometry, ink, place, top_bar
from device.textfit import (
    SMALLEST,
    Font,
    block_height,
    fit_term,
    font,
    line_top,
    pitch,
    text_box,
    wrap,
)

TERM_SHARE = 0.4
"""The term keeps at least this share of the space between the bars on a one-page screen."""
MIN_TERM_H = 14
"""Below this the term gets a page of its own (128x32 panels) instead of being squeezed."""
SIDE = 2
"""Blank columns at each side: a one-pixel burn-in shift must not push text off the panel."""


class LinkState(Enum):
    OK = "ok"
    LINK_LOST = "LINK LOST"
    """No heartbeat from the hub: the broker or the network is gone."""
    HUB_OFFLINE = "HUB OFFLINE"
    """The broker is reachable but says the hub is down (its last will)."""


@dataclass(frozen=True, kw_only=True)
class ScreenView:
    """Everything a screen shows; built by the device from its state, drawn here."""

    term: str
    lines: tuple[str, ...]
    drill: bool = False
    room: str = ""
    simulated: bool = False
    """A simulated node's screen: the top bar says SIMULATED, in a drill too, so that no
    frame of a simulator passes for a classroom's."""
    clock: str = ""
    link: LinkState = LinkState.OK
    link_age_s: float = 0.0
    colour: tuple[int, int, int] = (255, 255, 255)
    shift: tuple[int, int] = (0, 0)
    """A small pixel offset that moves slowly on idle screens, against OLED burn-in."""
    translations: tuple[Translation, ...] = ()
    """The same directive in the site's other languages, each on pages of its own after
    the first language's, under the same bars (see :func:`render_pages`)."""


@dataclass(frozen=True)
class Translation:
    """The term and the directive text in one more of the site's languages."""

    language: str
    term: str
    lines: tuple[str, ...]


def age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)}s ago"
    if seconds < 5400:
        return f"{int(seconds // 60)}m ago"
    return f"{seconds / 3600:.1f}h ago"


@dataclass(frozen=True)
class _Page:
    """One page: how tall the term is (0: none), and the body lines under it."""

    term_h: int
    lines: tuple[str, ...]
    body: Font


def render_pages(view: ScreenView, size: tuple[int, int], mode: str) -> list[Image.Image]:
    """Draw the view; more than one page only when the body text or languages need it.

    On a short display (128x32) the term gets a page of its own and the text follows on
    pages under the same top bar, rather than being squeezed out. Each language has
    pages of its own, in the site's order: stacking two languages would halve the term's
    type on every supported panel (64 rows at most), and the term must read across a room.
    Each language's pages are drawn in the first face that has all its glyphs.
    """
    g = geometry(size, mode, link_bar=view.link is not LinkState.OK)
    texts = ((view.term, view.lines), *((t.term, t.lines) for t in view.translations))
    # With more than one language every page has a marker: keep its column free.
    marked = len(texts) > 1
    planned = []
    for term, lines in texts:
        body_g = g.for_text("\n".join((term, *lines)))
        pages = _plan("\n".join(lines), body_g, marked)
        planned += [(term, body_g, page) for page in pages]
    total = len(planned)
    return [
        _draw(view, g, term, body_g, page, (n + 1, total))
        for n, (term, body_g, page) in enumerate(planned)
    ]


def clear_frame_cache() -> None:
    """Forget every cached layer (for tests that watch what is drawn)."""
    for cached in (_plan, _body, _term_layer, top_bar):
        cached.cache_clear()


def _draw(
    view: ScreenView,
    g: Geometry,
    term: str,
    body_g: Geometry,
    page: _Page,
    number: tuple[int, int],
) -> Image.Image:
    image = _body(term, view.colour, view.shift, body_g, page, number).copy()
    # A drill bar shows neither room nor time, so every real room shares one and every
    # simulated room another. The bar is pasted whole: the body never draws above ``g.top``.
    room, clock = ("", "") if view.drill else (view.room, view.clock)
    bar_g = g.for_text(f"{room} {clock}")
    image.paste(top_bar(view.drill, view.simulated, room, clock, bar_g), (0, 0))
    if view.link is not LinkState.OK:  # its age changes every few seconds: not cached
        draw_link_bar(ImageDraw.Draw(image), view.link.value, age_text(view.link_age_s), g)
    return image


def _body_sizes(space: int, g: Geometry) -> range:
    """Body font sizes to try, largest first: a line at most ~30 % of the space.

    Never below the panel's legible floor, unless not even one line of it fits.
    """
    floor = g.measure.floor
    while floor > SMALLEST and pitch(g.measure.font(floor)) > space:
        floor -= 1
    return range(max(floor, int(space * 0.3)), floor - 1, -1)


@lru_cache(maxsize=8)
def _plan(text: str, g: Geometry, marked: bool = False) -> tuple[_Page, ...]:
    """The fewest pages with the largest text: one page, else paged under the term.

    ``marked``: the page has a "1/2" marker even if the text fits one page (the site has
    more languages), so the lines keep clear of it.
    """
    columns = g.width - 2 * SIDE - (_marker_width(9, g) if marked else 0)
    sizes = _body_sizes(g.space, g)
    term_min = max(MIN_TERM_H, int(g.space * TERM_SHARE))
    for size in sizes:
        body = g.measure.font(size)
        lines = wrap(text, body, columns, g.measure)
        term_h = g.space - block_height(len(lines), body) - (1 if lines else 0)
        if term_h >= term_min:
            return (_Page(term_h, tuple(lines), body),)
    if g.space - term_min - 1 >= pitch(g.measure.font(sizes[-1])):
        return tuple(_paged(text, g, term_min, g.space - term_min - 1))
    # Not even one line fits beside the term: the term gets a page of its own.
    return (_Page(g.space, (), g.measure.font(sizes[-1])), *_paged(text, g, 0, g.space))


def _paged(text: str, g: Geometry, term_h: int, room: int) -> list[_Page]:
    """Pages of ``room`` pixels of text each; a column stays free for the "2/3" marker."""
    extra = 1 if term_h == 0 else 0  # a term-only page comes first
    sizes = _body_sizes(room, g)
    # The largest size that still shows two lines a page; else the smallest.
    fonts = [g.measure.font(s) for s in sizes]
    body = next((f for f in fonts if room // pitch(f) >= 2), fonts[-1])
    per_page = max(1, room // pitch(body))
    most = 9
    while True:
        # Lines wrapped clear of the widest marker this many pages could need.
        lines = wrap(text, body, g.width - 2 * SIDE - _marker_width(most, g), g.measure)
        chunks = [tuple(lines[i : i + per_page]) for i in range(0, len(lines), per_page)]
        if len(chunks) + extra <= most:
            return [_Page(term_h, chunk, body) for chunk in chunks or [()]]
        most = most * 10 + 9


def _marker_font(g: Geometry) -> Font:
    return font(max(g.measure.floor, g.bar - 2))


def _marker_width(most: int, g: Geometry) -> int:
    """Width kept free for a page marker up to "most/most" (and a gap)."""
    return int(_marker_font(g).getlength(f"{most}/{most}", mode=g.measure.mode)) + 3


@lru_cache(maxsize=4)
def _body(
    term: str,
    colour: tuple[int, int, int],
    shift: tuple[int, int],
    g: Geometry,
    page: _Page,
    number: tuple[int, int],
) -> Image.Image:
    """Everything under the top bar: the term, the page's lines, the page marker."""
    marker_w = _marker_width(number[1], g) if number[1] > 1 else 0
    dx, dy = shift
    if page.term_h:
        width = g.width - 2 * SIDE - (marker_w if not page.lines else 0)
        fill = ink(g.mode, colour)
        image = _term_layer(term, fill, shift, g, page.term_h, width).copy()
    else:
        image = Image.new(g.mode, (g.width, g.height))
    draw = ImageDraw.Draw(image)
    y = g.top + page.term_h + (1 if page.term_h and page.lines else 0)
    if not page.term_h and page.lines:
        y += (g.space - block_height(len(page.lines), page.body)) // 2
    column = g.width - 2 * SIDE - marker_w
    top = line_top(page.body)
    for line in page.lines:
        x = SIDE + column // 2 + dx
        draw.text((x, y - top + dy), line, font=page.body, fill=ink(g.mode), anchor="ma")
        y += pitch(page.body)
    if number[1] > 1:
        text = f"{number[0]}/{number[1]}"
        marker_font = _marker_font(g)
        corner = (g.width - marker_w, g.bottom - pitch(marker_font), g.width - 1, g.bottom)
        place(draw, text, marker_font, corner, "right", ink(g.mode), g.measure)
    return image


@lru_cache(maxsize=8)
def _term_layer(
    term: str,
    fill: int | tuple[int, int, int],
    shift: tuple[int, int],
    g: Geometry,
    term_h: int,
    width: int,
) -> Image.Image:
    """The term, bold and centred in ``width`` (clear of a page marker if there is one).

    Cached apart from the body: a school's terms are a handful, and rasterising one in
    large bold type is most of a frame's cost, also when the text under it is new.
    """
    image = Image.new(g.mode, (g.width, g.height))
    draw = ImageDraw.Draw(image)
    fitted = fit_term(term, width, term_h - 2, g.measure)
    dx, dy = shift
    y = g.top + (term_h - fitted.height) // 2 + dy
    for line in fitted.lines:
        left, top, right, _ = text_box(line, fitted.font, g.measure.mode)
        inked = int(right - left) + fitted.bold
        x = SIDE + (width - inked) // 2 - int(left) + dx
        draw.text((x, y - int(top)), line, font=fitted.font, fill=fill)
        if fitted.bold:
            box = draw.textbbox((x, y - int(top)), line, font=fitted.font)
            _embolden(image, box, fitted.bold)
        y += fitted.pitch
    return image


def _inked(image: Image.Image) -> Image.Image:
    """255 where a pixel is inked, else 0; in C for "L" (``point`` with a lambda or a
    table rounds 256 values in Python on every call)."""
    if image.mode == "L":
        return _binary(image).convert("L")
    return image.point(lambda v: 255 if v > 127 else 0)


def _binary(image: Image.Image) -> Image.Image:
    """Threshold at 128 in C (``point`` with a lambda or table rounds 256 values in Python)."""
    return image.convert("1", dither=Image.Dither.NONE)


def _embolden(image: Image.Image, box: tuple[float, float, float, float], amount: int) -> None:
    """Thicken what was just drawn in ``box`` by ``amount`` pixels to the right: bold.

    Only vertical strokes grow, so the gaps inside E, B and S stay open on a one-bit
    panel, which a stroke all round (Pillow's ``stroke_width``) would fill in; and a
    pixel grows only into a gap wider than one pixel, so letters never run together.
    The term's width budget keeps the extra columns free.
    """
    left, top, right, bottom = (int(v) for v in box)
    region = image.crop((left, top, right + amount, bottom))
    work = region.convert("L") if region.mode == "1" else region
    for _ in range(amount):
        from_left = _shifted(work, 1)
        inked_right = _inked(_shifted(work, -1))
        grown = ImageChops.multiply(from_left, ImageChops.invert(inked_right))
        work = ImageChops.lighter(work, grown)
    bold = _binary(work) if region.mode == "1" else work
    image.paste(bold, (left, top))


def _shifted(image: Image.Image, dx: int) -> Image.Image:
    moved = Image.new(image.mode, image.size)
    moved.paste(image, (dx, 0))
    return moved
