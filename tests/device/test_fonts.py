"""Text in any language is drawn in a face that has its glyphs, and a node whose site
wording has characters no installed font can draw refuses to start, naming the package."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageChops

import device.cli
import device.fonts
import transport.running
from device.catalogue import SIZES, PanelSize
from device.fonts import BUNDLED, CHAIN, MissingGlyphs, check_wording, face_for
from device.screen import ScreenView, Translation, render_pages
from hardware.config import DisplayConfig
from hardware.displays import open_display
from protocol.languages import parse_wording
from protocol.srp import Action
from tests.device.test_cli import device_config
from tests.unit.test_languages import VIETNAMESE

DEJAVU, NOTO_CJK = (face.path for face in CHAIN)
COMMA, COLON = "\uff0c", "\uff1a"
"""Chinese full-width punctuation (escaped: ruff takes them for look-alikes)."""
SAMPLES = {
    "es": ("CONFINAMIENTO", ("Cerrar con llave, apagar luces, fuera de la vista.",)),
    "vi": ("PHONG TỎA", ("Khóa cửa, tắt đèn, tránh xa tầm nhìn.",)),
    "zh": ("封锁", (f"锁门{COMMA}关灯{COMMA}躲藏起来。",)),
}
CHINESE = {
    "phrases": {
        "evacuate": f"前往{COLON}{{location}}",
        "shelter": f"因{{hazard}}{COLON}",
        "strategy": "{strategy}。",
        "standby_term": "待命",
        "standby": "等待办公室。",
    },
    **{a.value: {"term": "封锁", "directive": f"锁门{COMMA}关灯{COMMA}躲藏起来。"} for a in Action},
}


@pytest.fixture
def fresh_faces() -> Iterator[None]:
    """Forget which faces are installed and which texts they cover, before and after."""
    for cached in (device.fonts._installed, device.fonts.face_for):
        cached.cache_clear()
    yield
    for cached in (device.fonts._installed, device.fonts.face_for):
        cached.cache_clear()


def test_pillows_bundled_font_keeps_ascii_and_other_text_falls_to_a_face_with_its_glyphs() -> None:
    assert face_for("LOCKDOWN Locks, lights, out of sight.") == BUNDLED
    assert face_for("Hacia: Campo de fútbol") == DEJAVU  # Pillow's own has no ú
    assert face_for("PHONG TỎA Khóa cửa") == DEJAVU
    assert face_for(f"封锁 锁门{COMMA}关灯") == NOTO_CJK


@pytest.mark.parametrize("language", SAMPLES)
@pytest.mark.parametrize("panel", SIZES, ids=[p.name for p in SIZES])
def test_each_language_is_drawn_with_its_glyphs_on_every_panel(
    panel: PanelSize, language: str
) -> None:
    term, lines = SAMPLES[language]
    pages = render_pages(bilingual(term, lines), panel.size, panel.mode)
    english = render_pages(bilingual(term, lines, only_english=True), panel.size, panel.mode)
    assert len(pages) > len(english)  # the language's pages follow the English ones
    # Drawn through luma's dummy device, as a node's panel would get them.
    display = open_display(
        DisplayConfig(type="dummy", width=panel.size[0], height=panel.size[1], mode=panel.mode)
    )
    theirs = pages[len(english) :]
    for page in theirs:
        display.show(page)
        assert display.device.image.getbbox() is not None
    # The same layout with every glyph replaced by one the face lacks looks different:
    # what is on the panel is the language's letters, not boxes.
    boxes = tuple("\u0378" * len(line) for line in lines)
    missing = render_pages(bilingual("\u0378" * len(term), boxes), panel.size, panel.mode)
    assert any(differs(a, b) for a, b in zip(theirs, missing[len(english) :], strict=False))


def test_a_site_in_spanish_vietnamese_and_chinese_passes_the_start_check() -> None:
    wording = parse_wording(
        {"languages": ["en", "es", "vi", "zh"], "vi": VIETNAMESE, "zh": CHINESE}, "wording.toml"
    )
    check_wording(wording, ["Phòng 12", "科学实验室"])


def test_chinese_without_a_cjk_font_is_refused_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, fresh_faces: None
) -> None:
    gone = replace(CHAIN[1], path="/nonexistent/NotoSansCJK-Regular.ttc")
    monkeypatch.setattr(device.fonts, "CHAIN", (CHAIN[0], gone))
    wording = parse_wording({"languages": ["en", "zh"], "zh": CHINESE}, "wording.toml")
    with pytest.raises(MissingGlyphs) as caught:
        check_wording(wording)
    assert "language 'zh'" in str(caught.value)
    assert "apt-get install fonts-noto-cjk" in str(caught.value)


def test_a_room_name_no_font_can_draw_is_refused_too() -> None:
    with pytest.raises(MissingGlyphs, match="no installed font can draw"):
        check_wording(parse_wording({}, "wording.toml"), ["\U00012000 room"])


def test_the_node_refuses_to_start_before_opening_any_part(
    tmp_path: Path,
    hub_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_faces: None,
) -> None:
    gone = replace(CHAIN[1], path="/nonexistent/NotoSansCJK-Regular.ttc")
    monkeypatch.setattr(device.fonts, "CHAIN", (CHAIN[0], gone))
    monkeypatch.setattr(transport.running, "configure_logging", lambda verbose: None)
    path = device_config(tmp_path, hub_key, {"simulated": True})
    body = json.loads(path.read_text(encoding="utf-8"))
    body["wording"] = {"languages": ["en", "zh"], "zh": CHINESE}
    path.write_text(json.dumps(body), encoding="utf-8")
    args = argparse.Namespace(config=path, verbose=False, display=None, screen=None, frames=None)
    assert device.cli.run_device(args) == 2
    error = capsys.readouterr().err
    assert f"{path}: wording: language 'zh'" in error
    assert "fonts-noto-cjk" in error
    assert not (tmp_path / "state").exists()  # nothing opened, not even the store


def bilingual(term: str, lines: tuple[str, ...], *, only_english: bool = False) -> ScreenView:
    other = () if only_english else (Translation("xx", term, lines),)
    return ScreenView(
        term="LOCKDOWN",
        lines=("Locks, lights, out of sight.",),
        room="Science Lab 2",
        clock="10:42",
        translations=other,
    )


def differs(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is not None


def test_a_note_no_font_can_draw_still_gets_its_screen(caplog: pytest.LogCaptureFixture) -> None:
    """The start check covers the site's words; what the office types is drawn anyway,
    with a box for the character no face has, and the node says so in its log."""
    view = ScreenView(term="EVACUATE", lines=("To: Campo de fútbol", "Bring the go-bag \U00012000"))
    pages = render_pages(view, (128, 64), "1")
    assert pages and all(page.getbbox() is not None for page in pages)
    assert "no installed font can draw" in caplog.text


def test_a_room_name_no_font_can_draw_only_warns_at_start(
    tmp_path: Path,
    hub_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The check before any part opens passes: the test stops the node where it goes on
    to build its parts."""
    monkeypatch.setattr(transport.running, "configure_logging", lambda verbose: None)

    def stop_here(*args: object, **kwargs: object) -> None:
        raise SystemExit(99)

    monkeypatch.setattr("device.build.build_hardware", stop_here)
    path = device_config(tmp_path, hub_key, {"simulated": True})
    body = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(body | {"room_name": "Lab \U00012000"}), encoding="utf-8")
    args = argparse.Namespace(config=path, verbose=False, display=None, screen=None, frames=None)
    with pytest.raises(SystemExit) as stopped:
        device.cli.run_device(args)
    assert stopped.value.code == 99  # got past the font check to building the parts
    assert "room_name: no installed font can draw" in caplog.text
