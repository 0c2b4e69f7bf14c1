"""A node of a site with two languages: every directive in both, DRILL on every page."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from device.bars import geometry
from device.screen import LinkState, ScreenView, Translation, render_pages
from device.service import DeviceService
from hardware.serial_outputs import sign_text
from hardware.simulated import PngDisplay, SimulatedIndicator, SimulatedInputs, SimulatedOutputs
from protocol.languages import parse_wording
from protocol.srp import Action
from tests.device.helpers import Feed, node_config, running, until

WORDING = parse_wording(
    {"languages": ["en", "es"], "es": {"locations": {"Flag pole": "Asta de la bandera"}}},
    "wording.toml",
)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ScreenView, list[Image.Image]]]:
    frames: list[tuple[ScreenView, list[Image.Image]]] = []

    def recording(view: ScreenView, size: tuple[int, int], mode: str) -> list[Image.Image]:
        pages = render_pages(view, size, mode)
        frames.append((view, pages))
        return pages

    monkeypatch.setattr("device.panel.render_pages", recording)
    return frames


async def test_every_directive_is_drawn_in_every_language_of_the_site(
    tmp_path: Path,
    hub_key: Ed25519PrivateKey,
    drawn: list[tuple[ScreenView, list[Image.Image]]],
) -> None:
    config = node_config(tmp_path, hub_key, wording=WORDING)
    display = PngDisplay(tmp_path / "screen.png", size=(128, 64))
    service = DeviceService(
        config, display=display, inputs=SimulatedInputs(), indicator=SimulatedIndicator()
    )
    feed = Feed(service, hub_key)
    async with running(service):
        await until(lambda: bool(drawn), what="the standby frame")
        assert drawn[-1][0].translations == (
            Translation("es", "EN ESPERA", ("Esperando a la oficina.",)),
        )
        feed.directive(Action.EVACUATE, drill=True, location="Flag pole")
        await until(lambda: service.shown_seq == 1, what="the drill frame")
    view, pages = drawn[-1]
    assert (view.term, view.lines) == ("EVACUATE", ("To: Flag pole",))
    assert view.translations == (Translation("es", "EVACUATE", ("Hacia: Asta de la bandera",)),)
    assert len(pages) >= 2
    # The drill banner is on every page, the Spanish ones too, the same pixels.
    bar = geometry((128, 64), "1", link_bar=False).bar
    banners = {page.crop((0, 0, 128, bar)).tobytes() for page in pages}
    assert len(banners) == 1
    assert pages[0].crop((0, 0, 128, bar)).getbbox() == (0, 0, 128, bar)  # inverted: lit


async def test_a_node_told_one_vocabulary_shows_that_language_only(
    tmp_path: Path,
    hub_key: Ed25519PrivateKey,
    drawn: list[tuple[ScreenView, list[Image.Image]]],
) -> None:
    config = node_config(tmp_path, hub_key, wording=WORDING)
    service = DeviceService(
        config,
        display=PngDisplay(tmp_path / "screen.png", size=(128, 64)),
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        vocabulary=WORDING.languages[1],
    )
    async with running(service):
        Feed(service, hub_key).directive(Action.LOCKDOWN)
        await until(lambda: service.shown_seq == 1, what="the lockdown frame")
    view, _ = drawn[-1]
    assert (view.lines, view.translations) == (
        ("Cerrar con llave, apagar luces, fuera de la vista.",),
        (),
    )


async def test_signs_say_the_directive_in_the_sites_first_language_in_plain_ascii(
    tmp_path: Path, hub_key: Ed25519PrivateKey
) -> None:
    spanish_first = parse_wording(
        {"languages": ["es", "en"], "es": {"locations": {"Football field": "Campo de fútbol"}}},
        "wording.toml",
    )
    outputs = SimulatedOutputs()
    service = DeviceService(
        node_config(tmp_path, hub_key, wording=spanish_first),
        display=PngDisplay(tmp_path / "screen.png", size=(128, 64)),
        inputs=SimulatedInputs(),
        indicator=SimulatedIndicator(),
        outputs=outputs,
    )
    async with running(service):
        Feed(service, hub_key).directive(Action.EVACUATE, drill=True, location="Football field")
        await until(lambda: service.shown_seq == 1, what="the evacuate frame")
    assert outputs.current is not None
    action, drill, text = outputs.current
    assert (action, drill) == ("evacuate", True)
    assert text.endswith("EVACUATE - Hacia: Campo de fútbol")  # the sign's driver drops accents
    # No broker here, so the sign also says the link is lost (in English, like the bars).
    assert sign_text(text, drill, 125) == "DRILL: LINK LOST: EVACUATE - Hacia: Campo de futbol"


@pytest.mark.parametrize("size_mode", [((128, 64), "1"), ((128, 32), "1"), ((256, 64), "L")])
def test_every_page_of_every_language_keeps_simulated_drill_and_link_lost(
    size_mode: tuple[tuple[int, int], str],
) -> None:
    """The bars are the same on the Spanish pages: a simulator's SIMULATED DRILL banner on
    top, LINK LOST with its age below; the body is the only part a language changes."""
    size, mode = size_mode
    english = ScreenView(
        term="LOCKDOWN",
        lines=("Locks, lights, out of sight.",),
        drill=True,
        simulated=True,
        link=LinkState.LINK_LOST,
        link_age_s=125.0,
    )
    both = replace(
        english,
        translations=(Translation("es", "LOCKDOWN", ("Cerrar con llave, apagar luces.",)),),
    )
    reference = render_pages(english, size, mode)[0]
    pages = render_pages(both, size, mode)
    g = geometry(size, mode, link_bar=True)
    top, bottom = (0, 0, size[0], g.bar), (0, size[1] - g.bar, size[0], size[1])
    assert len(pages) > len(render_pages(english, size, mode))
    for page in pages:
        assert page.crop(top).tobytes() == reference.crop(top).tobytes()
        assert page.crop(bottom).tobytes() == reference.crop(bottom).tobytes()
