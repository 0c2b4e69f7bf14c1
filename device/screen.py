"""The layout engine: one function draws every screen for every display size.

The term is drawn as large as fits, because it must be read across a classroom. Text that
does not fit is wrapped, then paged ("1/2" in the corner): never cut off silently. When
the link is lost the last directive stays visible under a bar that says so, with its age.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

from PIL import Image, ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont


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
    clock: str = ""
    link: LinkState = LinkState.OK
    link_age_s: float = 0.0
    colour: tuple[int, int, int] = (255, 255, 255)
    shift: tuple[int, int] = (0, 0)
    """A small pixel offset that moves slowly on idle screens, against OLED burn-in."""


def age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)}s ago"
    if seconds < 5400:
        return f"{int(seconds // 60)}m ago"
    return f"{seconds / 3600:.1f}h ago"


@cache
def _font(size: int) -> Font:
    # Pillow's bundled scalable font: no font files to install on a node.
    font = ImageFont.load_default(size=max(6, size))
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("Pillow was built without FreeType; install a Pillow wheel with it")
    return font


def _measure_mode(mode: str) -> str:
    """One-bit text is hinted differently (wider) than anti-aliased text: measure as drawn."""
    return "1" if mode == "1" else "L"


def _fit(text: str, width: int, height: int, mode: str) -> Font:
    """The largest font in which ``text`` fits in one line of ``width`` x ``height``."""
    size = height
    while size > 6:
        font = _font(size)
        left, top, right, bottom = font.getbbox(text, mode=_measure_mode(mode))
        if right - left <= width and bottom - top <= height:
            return font
        size -= 1
    return _font(6)


def _wrap(text: str, font: Font, width: int, mode: str) -> list[str]:
    measure = _measure_mode(mode)

    def length(s: str) -> float:
        return font.getlength(s, mode=measure)

    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if length(candidate) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            while length(line) > width and len(line) > 1:  # one word wider than a line
                cut = len(line) - 1
                while cut > 1 and length(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return [line for line in lines if line]


def render_pages(view: ScreenView, size: tuple[int, int], mode: str) -> list[Image.Image]:
    """Draw the view; more than one page only when the body text needs it.

    On a short display (128x32) the term gets a page of its own and the text follows on
    pages under the same top bar, rather than being squeezed out.
    """
    width, height = size
    bar = max(8, height // 6)
    body_font = _font(max(7, min(bar, height // 7)))
    line_h = int(body_font.getbbox("Ag")[3]) + 1
    bottom = height - (bar if view.link is not LinkState.OK else 0)
    term_h = max(10, int(height * 0.30))
    lines = _wrap("\n".join(view.lines), body_font, width - 6, mode)
    per_page = _lines_per_page(bottom - (bar + term_h + 2), line_h, len(lines))
    if per_page:
        layout = _Layout(size, mode, bar, term_h, bar + term_h + 2, body_font, line_h)
        chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
        return [layout.draw(view, chunk, (n + 1, len(chunks))) for n, chunk in enumerate(chunks)]
    term_only = _Layout(size, mode, bar, bottom - bar, bottom, body_font, line_h)
    text_only = _Layout(size, mode, bar, 0, bar + 1, body_font, line_h)
    # These pages always page (the term has one of its own), so keep the marker's row free.
    per_page = max(1, (bottom - text_only.body_top - line_h) // line_h)
    chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)]
    total = len(chunks) + 1
    pages = [term_only.draw(view, [], (1, total))]
    pages += [text_only.draw(view, chunk, (n + 2, total)) for n, chunk in enumerate(chunks)]
    return pages


def _lines_per_page(room: int, line_h: int, lines: int) -> int:
    """Lines that fit under the term; when paging, one row stays free for the "2/3" marker.

    0 means not even one line fits beside the term: the term then gets a page of its own.
    """
    fit = room // line_h
    if lines > fit:
        fit = (room - line_h) // line_h
    return max(0, fit)


@dataclass(frozen=True)
class _Layout:
    size: tuple[int, int]
    mode: str
    bar: int
    term_h: int
    body_top: int
    body_font: Font
    line_h: int

    def draw(self, view: ScreenView, lines: list[str], page: tuple[int, int]) -> Image.Image:
        width, height = self.size
        mode, bar = self.mode, self.bar
        image = Image.new(mode, self.size)
        draw = ImageDraw.Draw(image)
        fg = _ink(mode, (255, 255, 255))
        dx, dy = view.shift
        _draw_top_bar(draw, view, width, bar, mode)
        marker = f"{page[0]}/{page[1]}" if page[1] > 1 else ""
        marker_font = _font(bar - 2)
        if self.term_h:
            # When the term fills the page down to the marker's row, keep clear of the corner.
            inset = 0
            if marker and self.body_top >= height - bar - (
                bar if view.link is not LinkState.OK else 0
            ):
                inset = 2 * (int(marker_font.getlength(marker)) + 2)
            font = _fit(view.term, width - 4 - inset, self.term_h, mode)
            centre = (width // 2 + dx, bar + self.term_h // 2 + 1 + dy)
            draw.text(centre, view.term, font=font, fill=_ink(mode, view.colour), anchor="mm")
        y = self.body_top + dy
        for line in lines:
            draw.text((2 + dx, y), line, font=self.body_font, fill=fg)
            y += self.line_h
        if marker:
            above_link_bar = height - 1 - (bar if view.link is not LinkState.OK else 0)
            draw.text((width - 1, above_link_bar), marker, font=marker_font, fill=fg, anchor="rd")
        if view.link is not LinkState.OK:
            _draw_link_bar(draw, view, width, height, bar, mode)
        return image


def _draw_top_bar(
    draw: ImageDraw.ImageDraw, view: ScreenView, width: int, bar: int, mode: str
) -> None:
    font = _font(bar - 1)
    fg, bg = _ink(mode, (255, 255, 255)), _ink(mode, (0, 0, 0))
    if view.drill:
        # Inverted, so DRILL reads as a banner even on a one-colour OLED.
        draw.rectangle((0, 0, width - 1, bar - 1), fill=fg)
        draw.text((width // 2, bar // 2), "DRILL  DRILL  DRILL", font=font, fill=bg, anchor="mm")
        return
    draw.text((1, bar // 2), view.room, font=font, fill=fg, anchor="lm")
    draw.text((width - 1, bar // 2), view.clock, font=font, fill=fg, anchor="rm")


def _draw_link_bar(
    draw: ImageDraw.ImageDraw, view: ScreenView, width: int, height: int, bar: int, mode: str
) -> None:
    fg, bg = _ink(mode, (255, 255, 255)), _ink(mode, (0, 0, 0))
    draw.rectangle((0, height - bar, width - 1, height - 1), fill=fg)
    age = age_text(view.link_age_s)
    text = f"{view.link.value} - last contact {age}" if width >= 200 else f"{view.link.value} {age}"
    font = _fit(text, width - 2, bar - 1, mode)
    draw.text((width // 2, height - bar // 2), text, font=font, fill=bg, anchor="mm")


def _ink(mode: str, rgb: tuple[int, int, int]) -> int | tuple[int, int, int]:
    if mode == "RGB":
        return rgb
    if mode == "1":
        return 255 if any(rgb) else 0
    return max(rgb) if any(rgb) else 0
