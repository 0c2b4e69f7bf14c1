"""Every screen at every display size, drawn through luma.core's ``dummy`` device and
compared pixel by pixel with the committed PNGs in ``docs/screens``.

After a deliberate layout change: ``roomcast screens --out docs/screens``, look at the
new PNGs (and docs/screens/README.md), and commit them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops

from device.bars import geometry
from device.catalogue import SIZES, PanelSize, catalogue_readme, render_catalogue
from device.fonts import CHAIN
from hardware.config import DisplayConfig
from hardware.displays import LumaDisplay, open_display

SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
REGENERATE = "regenerate with: roomcast screens --out docs/screens (then look at and commit them)"
FRAMES = render_catalogue()


def dummy(panel: PanelSize) -> LumaDisplay:
    width, height = panel.size
    return open_display(DisplayConfig(type="dummy", width=width, height=height, mode=panel.mode))


def differing_pixels(shown: Image.Image, golden: Image.Image) -> int:
    if shown.size != golden.size:
        return shown.width * shown.height
    diff = ImageChops.difference(shown.convert("RGB"), golden.convert("RGB")).convert("L")
    return sum(1 for value in diff.tobytes() if value)


@pytest.mark.parametrize("panel", SIZES, ids=[p.name for p in SIZES])
def test_every_screen_matches_its_golden_png(panel: PanelSize) -> None:
    display = dummy(panel)
    problems = []
    for name, frame in FRAMES.items():
        if not name.startswith((f"{panel.name}/", f"en-es/{panel.name}/")):
            continue
        golden_path = SCREENS / name
        if not golden_path.exists():
            problems.append(f"{name}: no golden PNG")
            continue
        display.show(frame)
        with Image.open(golden_path) as golden:
            count = differing_pixels(display.device.image, golden)
        if count:
            problems.append(f"{name}: {count} pixels differ")
    assert not problems, "\n".join([*problems, REGENERATE])


def test_no_golden_png_is_left_over() -> None:
    committed = {str(p.relative_to(SCREENS)) for p in SCREENS.glob("**/*.png")}
    stale = sorted(committed - set(FRAMES))
    assert not stale, f"no screen renders these any more: {stale}; {REGENERATE}"


def test_the_readme_shows_every_screen() -> None:
    readme = (SCREENS / "README.md").read_text(encoding="utf-8")
    assert readme == catalogue_readme(FRAMES), REGENERATE


def test_a_changed_pixel_is_caught_and_named() -> None:
    panel = SIZES[0]
    name = f"{panel.name}/lockdown-real-p1.png"
    broken = FRAMES[name].copy()
    value = broken.getpixel((0, 0))
    assert isinstance(value, int)
    broken.putpixel((0, 0), 255 - value)
    display = dummy(panel)
    display.show(broken)
    with Image.open(SCREENS / name) as golden:
        assert differing_pixels(display.device.image, golden) == 1


@pytest.mark.parametrize("panel", SIZES, ids=[p.name for p in SIZES])
def test_every_size_has_every_directive_and_variant(panel: PanelSize) -> None:
    names = {n.split("/")[1].rsplit("-p", 1)[0] for n in FRAMES if n.startswith(panel.name)}
    for screen in ("hold", "secure", "lockdown", "evacuate", "shelter", "all-clear", "release"):
        for variant in ("real", "drill", "link-lost", "hub-offline"):
            assert f"{screen}-{variant}" in names
    assert {"standby-real", "standby-link-lost", "standby-hub-offline"} <= names


@pytest.mark.parametrize("panel", SIZES, ids=[p.name for p in SIZES])
def test_a_simulated_frame_differs_from_a_real_one_in_its_top_bar_only(panel: PanelSize) -> None:
    """SIMULATED marks the bar (the drill banner too); every page's body is a real room's."""
    bar = geometry(panel.size, panel.mode, link_bar=False).bar
    simulated = sorted(n for n in FRAMES if n.startswith(f"{panel.name}/simulated-"))
    assert any("-drill-" in name for name in simulated)
    for name in simulated:
        shown, real = FRAMES[name], FRAMES[name.replace("/simulated-", "/")]
        assert rows(shown, bar, panel.size[1]) == rows(real, bar, panel.size[1]), name
        assert rows(shown, 0, bar) != rows(real, 0, bar), name


def rows(image: Image.Image, top: int, bottom: int) -> bytes:
    return image.crop((0, top, image.width, bottom)).tobytes()


def test_the_faces_the_golden_pngs_were_drawn_in_are_installed() -> None:
    """Without DejaVu Sans the Spanish pages would be drawn in another face and every
    en-es frame would differ: say which package is missing, not "regenerate"."""
    for face in CHAIN:
        assert Path(face.path).is_file(), f"apt-get install {face.package} (make test does)"
