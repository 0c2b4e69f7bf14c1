"""Every directive screen at every supported display size: ``roomcast screens``.

The committed PNGs in ``docs/screens`` are both the documentation (what a room sees) and
the golden frames the tests compare against pixel by pixel, so everything here is fixed:
the room, the clock text, the link ages and the burn-in shift. Regenerate them with
``roomcast screens --out docs/screens`` after a deliberate change to the layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from device.screen import LinkState, ScreenView, render_pages
from device.view import LinkView, screen_view
from protocol.languages import SiteWording, parse_wording
from protocol.messages import Directive
from protocol.srp import Action, Vocabulary
from protocol.topics import ScopeKind

ROOM = "Science Lab 2"
CLOCK = "10:42"
NOW = 1_700_002_400.0
"""A fixed time at which the idle burn-in shift is (0, 0): screens are drawn unshifted."""


@dataclass(frozen=True)
class PanelSize:
    """One frame size and mode, and the panels that use it."""

    name: str
    size: tuple[int, int]
    mode: str
    panels: str


SIZES = (
    PanelSize("128x64", (128, 64), "1", "SSD1306, SH1106 and SSD1309 128x64, monochrome"),
    PanelSize("128x32", (128, 32), "1", "SSD1306 128x32, monochrome"),
    PanelSize("256x64", (256, 64), "L", "SSD1322 256x64, 16 grey levels"),
)

VARIANTS = {
    "real": ("Real", LinkView(LinkState.OK, 0.0), False),
    "drill": ("Drill", LinkView(LinkState.OK, 0.0), True),
    "link-lost": ("Link lost 2 min ago", LinkView(LinkState.LINK_LOST, 125.0), False),
    "hub-offline": ("Drill, hub offline 30 s", LinkView(LinkState.HUB_OFFLINE, 30.0), True),
}
"""File-name part -> (column heading, link state, drill)."""


def sample_directive(action: Action, *, drill: bool) -> Directive:
    """A typical directive of each action, with the details its screen shows."""
    details: dict[str, str] = {}
    if action is Action.EVACUATE:
        details["location"] = "Football field"
    elif action is Action.SHELTER:
        details = {"hazard": "tornado", "strategy": "Go to the shelter area"}
    room_level = action is Action.RELEASE
    return Directive(
        seq=1,
        issued_at=NOW,
        scope=ScopeKind.ROOM if room_level else ScopeKind.SITE,
        target="214" if room_level else "",
        action=action,
        drill=drill,
        issued_by="office",
        **details,
    )


SCREENS: tuple[tuple[str, Action | None], ...] = (
    *((action.value.replace("_", "-"), action) for action in Action),
    ("standby", None),
)
"""(file-name part, action); ``None`` is the standby screen before any directive."""


BILINGUAL_FOLDER = "en-es"
BILINGUAL = parse_wording(
    {"languages": ["en", "es"], "es": {"locations": {"Football field": "Campo de fútbol"}}},
    "the catalogue's wording",
)
"""A site that shows English and Spanish, with the shipped Spanish and one location
translated: drawn under ``docs/screens/en-es/``."""

SIMULATED_SAMPLES = (("lockdown", Action.LOCKDOWN, "real"), ("lockdown", Action.LOCKDOWN, "drill"))
"""(screen, action, variant) drawn again as a simulated node shows them, under
``simulated-``: enough to show how a simulator's frames, a drill's included, say so."""


def views(
    vocabulary: Vocabulary | None = None, translations: tuple[Vocabulary, ...] = ()
) -> Iterator[tuple[str, str, ScreenView]]:
    """(screen, variant, view) for every screen a classroom can see, at the fixed time."""
    vocabulary = vocabulary or Vocabulary()
    for screen, action in SCREENS:
        for variant in VARIANTS:
            if action is None and variant == "drill":
                continue  # no directive, so nothing is a drill
            view = _view(action, variant, vocabulary, simulated=False, translations=translations)
            yield screen, variant, view


def simulated_views(
    vocabulary: Vocabulary | None = None,
) -> Iterator[tuple[str, str, ScreenView]]:
    """(screen, variant, view) of :data:`SIMULATED_SAMPLES`, as a simulated node shows them."""
    vocabulary = vocabulary or Vocabulary()
    for screen, action, variant in SIMULATED_SAMPLES:
        yield f"simulated-{screen}", variant, _view(action, variant, vocabulary, simulated=True)


def _view(
    action: Action | None,
    variant: str,
    vocabulary: Vocabulary,
    *,
    simulated: bool,
    translations: tuple[Vocabulary, ...] = (),
) -> ScreenView:
    _, link, drill = VARIANTS[variant]
    directive = None if action is None else sample_directive(action, drill=drill)
    view = screen_view(
        directive,
        room_label=ROOM,
        simulated=simulated,
        link=link,
        vocabulary=vocabulary,
        now=NOW,
        translations=translations,
    )
    # Fixed clock text: the real one depends on the machine's time zone.
    return replace(view, clock=CLOCK)


def render_catalogue(vocabulary: Vocabulary | None = None) -> dict[str, Image.Image]:
    """Relative PNG path (``128x64/lockdown-drill-p1.png``) -> frame, for every size;
    the bilingual site's under ``en-es/`` (``en-es/128x64/lockdown-drill-p2.png``)."""
    frames: dict[str, Image.Image] = {}
    for panel in SIZES:
        for screen, variant, view in (*views(vocabulary), *simulated_views(vocabulary)):
            for number, page in enumerate(render_pages(view, panel.size, panel.mode), 1):
                frames[f"{panel.name}/{screen}-{variant}-p{number}.png"] = page
    frames.update(render_languages(BILINGUAL, BILINGUAL_FOLDER))
    return frames


def render_languages(wording: SiteWording, folder: str) -> dict[str, Image.Image]:
    """Every screen of a site with several languages, under ``folder/``."""
    frames: dict[str, Image.Image] = {}
    for panel in SIZES:
        for screen, variant, view in views(wording.first, wording.languages[1:]):
            for number, page in enumerate(render_pages(view, panel.size, panel.mode), 1):
                frames[f"{folder}/{panel.name}/{screen}-{variant}-p{number}.png"] = page
    return frames


def write_catalogue(out: Path, vocabulary: Vocabulary | None = None) -> list[Path]:
    """Write every frame and ``README.md`` under ``out``; stale frames are removed."""
    frames = render_catalogue(vocabulary)
    written = []
    for panel in SIZES:
        for name in (panel.name, f"{BILINGUAL_FOLDER}/{panel.name}"):
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.png"):
                if f"{name}/{old.name}" not in frames:
                    old.unlink()
    for name, frame in frames.items():
        path = out / name
        frame.save(path, format="PNG", optimize=True)
        written.append(path)
    readme = out / "README.md"
    readme.write_text(catalogue_readme(frames), encoding="utf-8")
    languages = out / BILINGUAL_FOLDER / "README.md"
    languages.write_text(languages_readme(frames), encoding="utf-8")
    return [*written, readme, languages]


def catalogue_readme(frames: dict[str, Image.Image]) -> str:
    """A table per size: one row per screen, one column per variant, every page shown;
    then one table of the simulated samples, a row per size."""
    parts = [_README_HEAD]
    for panel in SIZES:
        parts.append(f"\n## {panel.name} ({panel.panels})\n\n")
        parts.append("| Screen | " + " | ".join(h for h, _, _ in VARIANTS.values()) + " |\n")
        parts.append("|---" * (len(VARIANTS) + 1) + "|\n")
        for screen, _ in SCREENS:
            cells = [f"**{screen}**"]
            for variant in VARIANTS:
                cells.append(_cell(frames, panel, screen, variant) or "no directive, so no drill")
            parts.append("| " + " | ".join(cells) + " |\n")
    parts.append(_README_SIMULATED)
    samples = [(f"simulated-{screen}", variant) for screen, _, variant in SIMULATED_SAMPLES]
    parts.append("| Size | " + " | ".join(VARIANTS[v][0] for _, v in samples) + " |\n")
    parts.append("|---" * (len(samples) + 1) + "|\n")
    for panel in SIZES:
        cells = [f"**{panel.name}**", *(_cell(frames, panel, s, v) for s, v in samples)]
        parts.append("| " + " | ".join(cells) + " |\n")
    return "".join(parts)


def write_site_screens(out: Path, wording: SiteWording) -> list[Path]:
    """``roomcast screens --wording FILE``: a district's own screens, to look at before
    its wording goes into the bundles (``out/<size>/...png`` and ``out/README.md``)."""
    frames = render_languages(wording, "site")
    written = []
    for name, frame in frames.items():
        path = out / name.removeprefix("site/")
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.save(path, format="PNG", optimize=True)
        written.append(path)
    head = f"# Screens in {', '.join(wording.codes)}\n\nDrawn by `roomcast screens --wording`.\n"
    readme = out / "README.md"
    readme.write_text(languages_readme(frames, "site", head), encoding="utf-8")
    return [*written, readme]


def languages_readme(
    frames: dict[str, Image.Image], folder: str = BILINGUAL_FOLDER, head: str = ""
) -> str:
    """``en-es/README.md``: the same tables for the English and Spanish site."""
    parts = [head or _README_LANGUAGES]
    for panel in SIZES:
        parts.append(f"\n## {panel.name} ({panel.panels})\n\n")
        parts.append("| Screen | " + " | ".join(h for h, _, _ in VARIANTS.values()) + " |\n")
        parts.append("|---" * (len(VARIANTS) + 1) + "|\n")
        for screen, _ in SCREENS:
            cells = [f"**{screen}**"]
            for variant in VARIANTS:
                cell = _cell(frames, panel, screen, variant, folder)
                cells.append(cell or "no directive, so no drill")
            parts.append("| " + " | ".join(cells) + " |\n")
    return "".join(parts)


def _cell(
    frames: dict[str, Image.Image],
    panel: PanelSize,
    screen: str,
    variant: str,
    folder: str = "",
) -> str:
    """Every page of one screen and variant, one under the other ("" if there is none);
    paths relative to ``folder``, the README's own."""
    width = max(256, panel.size[0])
    base = f"{folder}/" if folder else ""
    prefix = f"{base}{panel.name}/{screen}-{variant}-p"
    pages = sorted(name for name in frames if name.startswith(prefix))
    return "<br>".join(
        f'<img src="{name.removeprefix(base)}" width="{width}" alt="{screen}, {variant}, page {n}">'
        for n, name in enumerate(pages, 1)
    )


_README_HEAD = """# Screens

What a classroom display shows, for every directive at every supported display size.
These PNGs are generated, not drawn: `roomcast screens --out docs/screens` renders them
with `device/screen.py` and `device/bars.py` at a fixed time (clock 10:42, room "Science
Lab 2"), and the tests in `tests/device/test_golden.py` compare every frame the layout
engine draws today with these files, pixel by pixel, through luma.core's `dummy` device.
After a deliberate layout change, regenerate them with that command, look at them, and
commit them. A site with more than one language shows each language's pages in turn:
the same screens in English and Spanish are in [en-es/](en-es/README.md).

Layout, top to bottom:

* **Top bar**: the room and the time; in a drill, an inverted **DRILL DRILL DRILL**
  banner instead, so a drill is unmistakable even on a one-colour panel (a simulated
  node's says SIMULATED too: see the last table).
* **The term** (LOCKDOWN, EVACUATE...), bold and as large as fits.
* **The directive** (Evacuate's location, Shelter's hazard and strategy, a note), in the
  largest size that leaves the term at least 40 % of the space. Text that does not fit is
  wrapped, then paged every 4 s with a `1/2` marker in the corner, never cut off. On a
  128x32 panel the term has a page of its own.
* **Link bar** (only when the hub is not heard): LINK LOST or HUB OFFLINE and when it was
  last heard from; the last directive stays visible above it.

A Lockdown screen shows only the directive: staff reports and accounting are never
displayed, since a display seen from the hall must not tell anyone the room is occupied.
Idle screens (standby, all clear, released) move by one pixel every five minutes against
OLED burn-in; here they are drawn unshifted. The 128-pixel-wide frames are shown at
twice their size. A screen with more than one page shows them one under the other.
Standby comes before any directive, so nothing about it is a drill: its last column is
the hub going offline without one.
"""

_README_SIMULATED = """
## A simulated node

A node whose config says `"hardware": {"simulated": true}` (the demo's and `roomcast
simulate`'s rooms) says SIMULATED on every frame, so that a simulator never passes for a
classroom: before the room's name in the top bar, and in a drill, where the banner takes
the room's place, as **SIMULATED DRILL** (repeated on a wide panel). A Lockdown, as such
a node shows it:

"""

_README_LANGUAGES = """# Screens in two languages

The same screens for a site whose wording file says `languages = ["en", "es"]` (the
shipped Spanish, with one location translated: "Football field" is "Campo de fútbol").
`roomcast screens --out docs/screens` renders them too, and
`tests/device/test_golden.py` compares them pixel by pixel.

Each language has pages of its own, in the site's order, shown in turn every 4 s under
the same bars: first English, then Spanish, each page numbered in the whole cycle
(`1/2`, `2/2`). The Spanish pages keep SRP's term (LOCKDOWN) and translate the directive
under it, as the shipped Spanish does. They alternate rather than stack because the term
must read across a classroom: two languages one above the other would halve its type on
every supported panel (none has more than 64 rows). The bars stay the same on every
page: **DRILL** in every drill frame (one word the hall must read identically in every
language), SIMULATED on a simulator, LINK LOST or HUB OFFLINE with the age of the last
contact. Text that Pillow's bundled font cannot draw (the Spanish accents) is drawn in
DejaVu Sans (`fonts-dejavu-core`); see docs/hardware.md "Fonts and languages".
"""
