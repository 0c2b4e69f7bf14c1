"""The layout engine: every size, paging instead of cutting, DRILL and LINK LOST bars, and
SIMULATED on every frame of a simulated node."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from PIL import Image, ImageDraw
from pytest_mock import MockerFixture

from device.bars import geometry
from device.screen import LinkState, ScreenView, age_text, clear_frame_cache, render_pages
from device.textfit import Measure

SIZES = [
    ((128, 64), "1"),
    ((128, 32), "1"),
    ((256, 64), "L"),
    ((256, 128), "1"),
    ((320, 240), "RGB"),
]
SIZE_IDS = [f"{w}x{h}-{mode}" for (w, h), mode in SIZES]

FORTY_WORDS = " ".join(f"w{n:02d}x" for n in range(40))
LONGER_WORDS = " ".join(f"word{n:02d}" for n in range(40))
EDGE = 6
"""Rows at the top and bottom that lie inside the bars on every size (bars are >= 8 high)."""


def view(**changes: object) -> ScreenView:
    fields: dict[str, object] = {
        "term": "LOCKDOWN",
        "lines": ("Locks, lights, out of sight.",),
        "room": "Science Lab",
        "clock": "10:42",
        "colour": (210, 0, 0),
    }
    return ScreenView(**(fields | changes))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Drawn:
    """One ``draw.text`` call: its text, the box it covers and its font size."""

    text: str
    box: tuple[int, int, int, int]
    size: float


class TextSpy:
    """Records every text drawn, grouped by the image (page) it was drawn on."""

    def __init__(self, mocker: MockerFixture) -> None:
        self._spy = mocker.spy(ImageDraw.ImageDraw, "text")

    def pages(self) -> list[list[Drawn]]:
        grouped: dict[int, list[Drawn]] = {}
        for call in self._spy.call_args_list:
            draw, xy, text = call.args[:3]
            font, anchor = call.kwargs.get("font"), call.kwargs.get("anchor")
            left, top, right, bottom = draw.textbbox(xy, text, font=font, anchor=anchor)
            box = (int(left), int(top), int(right), int(bottom))
            grouped.setdefault(id(draw), []).append(Drawn(text, box, font.size))
        return list(grouped.values())

    def forget(self) -> None:
        """Start recording afresh."""
        self._spy.reset_mock()

    def texts(self) -> list[str]:
        return [d.text for page in self.pages() for d in page]


@pytest.fixture
def spy(mocker: MockerFixture) -> Iterator[TextSpy]:
    clear_frame_cache()  # so every text is drawn, and seen, again
    yield TextSpy(mocker)


def lit_fraction(image: Image.Image, rows: range) -> float:
    band = image.convert("L").crop((0, rows.start, image.width, rows.stop)).tobytes()
    return sum(1 for v in band if v > 127) / len(band)


# -- sizes and modes -------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
def test_every_page_has_the_size_and_mode_of_the_display(size: tuple[int, int], mode: str) -> None:
    for link in LinkState:
        for lines in [(), ("Locks, lights, out of sight.",), (FORTY_WORDS,)]:
            pages = render_pages(view(lines=lines, link=link, drill=True), size, mode)
            assert pages
            assert {(p.size, p.mode) for p in pages} == {(size, mode)}


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
def test_frame_is_not_blank(size: tuple[int, int], mode: str) -> None:
    (page, *_) = render_pages(view(), size, mode)
    assert page.convert("L").getbbox() is not None


def test_short_text_fits_on_one_page_with_no_page_marker(spy: TextSpy) -> None:
    pages = render_pages(view(), (128, 64), "1")
    assert len(pages) == 1
    assert not any("/" in text for text in spy.texts())


def test_term_is_drawn_in_the_directive_colour_on_a_colour_display() -> None:
    (page,) = render_pages(view(lines=()), (320, 240), "RGB")
    counted = page.getcolors(maxcolors=320 * 240)
    assert counted is not None
    colours = {colour for _, colour in counted}
    assert (210, 0, 0) in colours


# -- paging instead of cutting ---------------------------------------------------------------


def test_a_forty_word_note_pages_on_128x64(spy: TextSpy) -> None:
    pages = render_pages(view(lines=("Locks, lights, out of sight.", FORTY_WORDS)), (128, 64), "1")
    assert len(pages) > 1
    drawn = " ".join(spy.texts()).split()
    for word in FORTY_WORDS.split():
        assert word in drawn, word


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("link", [LinkState.OK, LinkState.LINK_LOST], ids=["ok", "lost"])
def test_every_word_is_drawn_in_order_and_pages_are_numbered(
    spy: TextSpy, size: tuple[int, int], mode: str, link: LinkState
) -> None:
    pages = render_pages(view(lines=(FORTY_WORDS,), link=link), size, mode)
    drawn_words = [w for w in " ".join(spy.texts()).split() if w.startswith("w")]
    assert drawn_words == FORTY_WORDS.split()
    total = len(pages)
    markers = [t for t in spy.texts() if "/" in t]
    if total > 1:
        assert markers == [f"{n}/{total}" for n in range(1, total + 1)]


def test_a_word_wider_than_the_screen_is_split_not_cut(spy: TextSpy) -> None:
    word = "Supercalifragilisticexpialidocious-" * 3
    render_pages(view(lines=(word,)), (128, 64), "1")
    pieces = [t for t in spy.texts() if t and t in word]
    assert len(pieces) > 1
    assert "".join(pieces) == word


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
def test_all_text_stays_on_the_screen(spy: TextSpy, size: tuple[int, int], mode: str) -> None:
    width, height = size
    for link in (LinkState.OK, LinkState.HUB_OFFLINE):
        render_pages(
            view(lines=("Locks, lights, out of sight.", FORTY_WORDS), link=link), size, mode
        )
    for page in spy.pages():
        for drawn in page:
            left, top, right, bottom = drawn.box
            assert left >= 0 and top >= 0, drawn
            assert right <= width and bottom <= height, drawn


def _overlaps(a: Drawn, b: Drawn) -> bool:
    return (
        a.box[0] < b.box[2] and b.box[0] < a.box[2] and a.box[1] < b.box[3] and b.box[1] < a.box[3]
    )


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("link", [LinkState.OK, LinkState.LINK_LOST], ids=["ok", "lost"])
def test_no_text_is_drawn_over_other_text(
    spy: TextSpy, size: tuple[int, int], mode: str, link: LinkState
) -> None:
    """The page marker ("2/11") must not be drawn over the last line of the body."""
    for note in (FORTY_WORDS, LONGER_WORDS):
        render_pages(view(lines=("Locks, lights, out of sight.", note), link=link), size, mode)
    clashes = set()
    for page in spy.pages():
        for i, a in enumerate(page):
            clashes |= {(a.text, b.text) for b in page[i + 1 :] if _overlaps(a, b)}
    assert not clashes


# -- DRILL and LINK LOST ---------------------------------------------------------------------


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
def test_drill_banner_fills_the_top_bar(size: tuple[int, int], mode: str) -> None:
    (drill, *_) = render_pages(view(drill=True), size, mode)
    (real, *_) = render_pages(view(drill=False), size, mode)
    assert lit_fraction(drill, range(EDGE)) > 0.6
    assert lit_fraction(real, range(EDGE)) < 0.3


def test_drill_banner_says_drill(spy: TextSpy) -> None:
    render_pages(view(drill=True), (128, 64), "1")
    texts = spy.texts()
    assert any("DRILL" in t for t in texts)
    assert "Science Lab" not in texts  # the banner takes the room's place


# -- a simulated node ------------------------------------------------------------------------


def bar_height(size: tuple[int, int], mode: str) -> int:
    return geometry(size, mode, link_bar=False).bar


def top_bar_texts(spy: TextSpy, size: tuple[int, int], mode: str) -> list[Drawn]:
    """What was drawn in the top bar (the body never draws above it)."""
    return [d for page in spy.pages() for d in page if d.box[3] <= bar_height(size, mode)]


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("drill", [False, True], ids=["real", "drill"])
def test_a_simulated_node_says_simulated_in_its_top_bar_and_a_real_one_does_not(
    spy: TextSpy, size: tuple[int, int], mode: str, drill: bool
) -> None:
    render_pages(view(drill=drill, simulated=True), size, mode)
    simulated = [d.text for d in top_bar_texts(spy, size, mode)]
    spy.forget()
    render_pages(view(drill=drill), size, mode)
    real = [d.text for d in top_bar_texts(spy, size, mode)]
    assert real and not any("SIMULATED" in text for text in real), real
    if drill:  # a drill banner still, with the room nowhere
        (text,) = simulated
        assert text.startswith("SIMULATED DRILL") and "Science" not in text
    else:  # before the room's name, which is shortened if need be, never SIMULATED
        assert any(text.startswith("SIMULATED") for text in simulated), simulated


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
def test_a_simulated_drill_banner_is_legible_and_stays_in_its_bar(
    spy: TextSpy, size: tuple[int, int], mode: str
) -> None:
    render_pages(view(drill=True, simulated=True), size, mode)
    (drawn,) = top_bar_texts(spy, size, mode)
    assert drawn.size >= Measure(mode).floor, drawn  # not shrunk to fit the longer word
    left, top, right, _ = drawn.box
    assert left >= 0 and top >= 0 and right <= size[0], drawn


@pytest.mark.parametrize("link", [LinkState.OK, LinkState.HUB_OFFLINE], ids=["ok", "offline"])
def test_every_page_of_a_simulated_drill_has_the_simulated_banner(link: LinkState) -> None:
    """The bar is drawn once and pasted on every page: a page flip never hides it."""
    long = view(drill=True, simulated=True, link=link, lines=(FORTY_WORDS,))
    pages = render_pages(long, (128, 64), "1")
    (real, *_) = render_pages(replace(long, simulated=False), (128, 64), "1")
    (short,) = render_pages(replace(long, lines=()), (128, 64), "1")

    def bar(page: Image.Image) -> bytes:
        return page.crop((0, 0, 128, bar_height((128, 64), "1"))).tobytes()

    assert len(pages) > 1
    assert {bar(page) for page in pages} == {bar(short)}
    assert bar(short) != bar(real)


@pytest.mark.parametrize(("size", "mode"), SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("link", [LinkState.LINK_LOST, LinkState.HUB_OFFLINE])
def test_link_bar_is_drawn_at_the_bottom_when_the_link_is_not_ok(
    size: tuple[int, int], mode: str, link: LinkState
) -> None:
    height = size[1]
    bottom = range(height - EDGE, height)
    (ok, *_) = render_pages(view(), size, mode)
    for page in render_pages(view(link=link, link_age_s=42), size, mode):
        assert lit_fraction(page, bottom) > 0.6
    assert lit_fraction(ok, bottom) < 0.3


def test_link_bar_says_what_is_lost_and_since_when(spy: TextSpy) -> None:
    render_pages(view(link=LinkState.LINK_LOST, link_age_s=125), (128, 64), "1")
    render_pages(view(link=LinkState.HUB_OFFLINE, link_age_s=30), (256, 64), "L")
    texts = spy.texts()
    assert "LINK LOST 2m ago" in texts
    assert "HUB OFFLINE - last contact 30s ago" in texts


def test_the_last_directive_stays_visible_under_the_link_bar(spy: TextSpy) -> None:
    render_pages(view(link=LinkState.LINK_LOST), (128, 64), "1")
    assert "LOCKDOWN" in spy.texts()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s ago"), (89.9, "89s ago"), (90, "1m ago"), (5399, "89m ago"), (5400, "1.5h ago")],
)
def test_age_text(seconds: float, text: str) -> None:
    assert age_text(seconds) == text


def test_shift_moves_the_drawing() -> None:
    (still,) = render_pages(view(lines=()), (128, 64), "1")
    (moved,) = render_pages(view(lines=(), shift=(1, 1)), (128, 64), "1")
    assert still.tobytes() != moved.tobytes()


def test_a_cached_frame_is_the_frame_drawn_afresh() -> None:
    shown = view(room="Room 101", clock="09:15")
    (cached,) = render_pages(shown, (128, 64), "1")
    ImageDraw.Draw(cached).rectangle((0, 0, 127, 63), fill=255)  # the caller's copy
    clear_frame_cache()
    (fresh,) = render_pages(shown, (128, 64), "1")
    (again,) = render_pages(shown, (128, 64), "1")
    assert again.tobytes() == fresh.tobytes()
    assert again.tobytes() != cached.tobytes()


def test_rooms_share_a_drill_frame_but_not_a_real_one() -> None:
    def frame(room: str, drill: bool, simulated: bool = False) -> bytes:
        shown = view(room=room, clock="09:15", drill=drill, simulated=simulated)
        (page,) = render_pages(shown, (128, 64), "1")
        return page.tobytes()

    assert frame("Room 101", True) == frame("Room 102", True)
    assert frame("Room 101", False) != frame("Room 102", False)
    # Simulated rooms share a drill frame of their own, never a real room's.
    assert frame("Room 101", True, True) == frame("Room 102", True, True)
    assert frame("Room 101", True, True) != frame("Room 101", True)


def test_simulated_rooms_draw_their_drill_bar_once(spy: TextSpy) -> None:
    for room in ("Room 101", "Room 102", "Room 103"):
        render_pages(view(room=room, drill=True, simulated=True), (128, 64), "1")
    assert [t for t in spy.texts() if "SIMULATED" in t] == ["SIMULATED DRILL"]
