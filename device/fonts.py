"""Which typeface draws a text: the first of a short chain that has every one of its glyphs.

Pillow's bundled font (Aileron) has ASCII only: not even the ñ of "español". Text it
covers keeps it, so English screens look as they always have; anything else falls to
DejaVu Sans (Latin with every accent, Vietnamese, Greek, Cyrillic: Debian's
``fonts-dejavu-core``), then Noto Sans CJK (Chinese, Japanese, Korean: ``fonts-noto-cjk``).
A text no face covers would be drawn as empty boxes, so a node checks every text its
site can show at start (:func:`check_wording`) and refuses to run, naming the package.

Faces are loaded with FreeType's basic layout, not Raqm: the same pixels on every machine
(golden PNGs), and the site's text is normalised to precomposed (NFC) characters.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

from protocol.languages import SiteWording
from protocol.srp import Action
from protocol.wording import idle_lines

log = logging.getLogger(__name__)

BUNDLED = ""
"""The face name of Pillow's bundled font."""


@dataclass(frozen=True)
class Face:
    name: str
    path: str
    package: str
    """The Debian package that installs ``path``."""


CHAIN = (
    Face("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    Face(
        "Noto Sans CJK", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "fonts-noto-cjk"
    ),
)
"""Tried in order after Pillow's bundled font."""

_MISSING = "\u0378"
"""An unassigned code point: what a face draws for a glyph it does not have."""


class MissingGlyphs(RuntimeError):
    """No installed face has every character of a text the screen may have to show."""


@lru_cache(maxsize=64)
def load(size: int, face: str = BUNDLED) -> ImageFont.FreeTypeFont:
    """``face`` at ``size`` pixels; :data:`BUNDLED` is Pillow's own (no file to install)."""
    if face == BUNDLED:
        loaded = ImageFont.load_default(size=size)
        if not isinstance(loaded, ImageFont.FreeTypeFont):
            raise RuntimeError("Pillow was built without FreeType; install a Pillow wheel with it")
        return loaded
    return ImageFont.truetype(face, size, layout_engine=ImageFont.Layout.BASIC)


def face_of(font: ImageFont.FreeTypeFont) -> str:
    """The face name :func:`load` was given for ``font``."""
    return font.path if isinstance(font.path, str) else BUNDLED


@cache
def _installed() -> tuple[str, ...]:
    return (BUNDLED, *(f.path for f in CHAIN if Path(f.path).is_file()))


@lru_cache(maxsize=4096)
def _has(face: str, char: str) -> bool:
    probe = load(20, face)
    missing = probe.getmask(_MISSING, mode="L")
    drawn = probe.getmask(char, mode="L")
    return (drawn.size, bytes(drawn)) != (missing.size, bytes(missing))


def _needs(text: str) -> frozenset[str]:
    return frozenset(c for c in text if not c.isspace() and unicodedata.category(c)[0] != "C")


@lru_cache(maxsize=256)
def face_for(text: str) -> str:
    """The first installed face with every glyph of ``text``; :class:`MissingGlyphs` if none."""
    needed = _needs(text)
    for face in _installed():
        if all(_has(face, c) for c in needed):
            return face
    raise MissingGlyphs(_missing_message(text, needed))


@lru_cache(maxsize=256)
def drawing_face(text: str) -> str:
    """The face to draw ``text`` in, never failing: :func:`face_for`, or, for a text no
    face covers (an emoji in the office's note), the one that has the most of its glyphs.

    A frame must always be drawn: the start check covers the site's own words, but a
    directive's note or location is whatever the office typed, and a box in place of one
    character is better than no screen at all.
    """
    try:
        return face_for(text)
    except MissingGlyphs as error:
        log.warning("%s; drawn with boxes for them", error)
    needed = _needs(text)
    return max(_installed(), key=lambda face: sum(_has(face, c) for c in needed))


def _missing_message(text: str, needed: frozenset[str]) -> str:
    lacking = sorted(c for c in needed if not any(_has(f, c) for f in _installed()))
    cjk = any(unicodedata.east_asian_width(c) in "WF" for c in lacking)
    face = CHAIN[1] if cjk else CHAIN[0]
    shown = "".join(lacking[:8])
    return (
        f"no installed font can draw {shown!r} (in {text[:40]!r}): "
        f"install {face.package} (apt-get install {face.package}; it provides {face.path})"
    )


def check_wording(wording: SiteWording, extra: Iterable[str] = ()) -> None:
    """Every text the site's languages can put on the screen has a face with its glyphs.

    Raises :class:`MissingGlyphs` naming the language, the text and the package.
    """
    for vocabulary in wording.languages:
        term, lines = idle_lines(vocabulary)
        texts = [term, *lines, vocabulary.phrases.evacuate, vocabulary.phrases.shelter]
        for action in Action:
            texts += [vocabulary[action].term, vocabulary[action].directive]
        texts += [*vocabulary.locations.values(), *vocabulary.hazards.values()]
        texts += vocabulary.strategies.values()
        for text in texts:
            try:
                face_for(text)
            except MissingGlyphs as error:
                raise MissingGlyphs(f"language {vocabulary.language!r}: {error}") from None
    for text in extra:
        face_for(text)
