"""CAP 1.2 in the site's languages: an ``info`` block per language, valid by the OASIS
schema, the first in the site's first language."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from hub.relay.cap_records import CapWriter
from hub.relay.cap_scope import CapAudience
from hub.relay.store import Recorded
from protocol.languages import parse_wording
from protocol.messages import Directive
from protocol.srp import Action
from tests.unit.factories import T0, directive
from tests.unit.test_relay_cap import AUDIENCES, CAP, DIRECTIVES, press, valid, writer

WORDING = parse_wording(
    {"languages": ["en", "es"], "es": {"locations": {"the flag pole": "el asta de la bandera"}}},
    "wording.toml",
)


def bilingual() -> CapWriter:
    return replace(writer(), translations=WORDING.languages[1:])


def infos(alert: ET.Element) -> list[dict[str, str | None]]:
    return [
        {
            name: info.findtext(CAP + name)
            for name in ("language", "event", "headline", "instruction")
        }
        for info in alert.findall(CAP + "info")
    ]


@pytest.mark.parametrize("audience", AUDIENCES, ids=["restricted", "private"])
@pytest.mark.parametrize("given", DIRECTIVES, ids=lambda d: f"{d.action.value}-{d.hazard}")
def test_every_directive_has_a_valid_info_block_per_language(
    given: Directive, audience: CapAudience
) -> None:
    alert = valid(bilingual().draft(Recorded(T0, directive=given)).render(audience))
    blocks = alert.findall(CAP + "info")
    assert [b.findtext(CAP + "language") for b in blocks] == ["en-US", "es"]
    # The same alert in both: what it is, how urgent, where; only the words differ.
    for name in ("category", "event", "urgency", "severity", "certainty", "responseType"):
        assert blocks[0].findtext(CAP + name) == blocks[1].findtext(CAP + name), name
    area = [b.findtext(f"{CAP}area/{CAP}areaDesc") for b in blocks]
    assert area[0] == area[1]


def test_the_spanish_block_says_what_spanish_displays_say() -> None:
    evacuate = directive(action=Action.EVACUATE, location="the flag pole", drill=True)
    alert = valid(bilingual().draft(Recorded(T0, directive=evacuate)).render(CapAudience()))
    english, spanish = infos(alert)
    assert english["instruction"] == "Evacuate! To the flag pole."
    assert spanish["instruction"] == "EVACUATE! Hacia: el asta de la bandera"
    assert spanish["headline"] == "EVACUATE (DRILL): Lincoln Elementary"


def test_a_site_whose_first_language_is_spanish_speaks_spanish_first() -> None:
    spanish_first = parse_wording({"languages": ["es", "en"]}, "wording.toml")
    cap = replace(
        writer(), vocabulary=spanish_first.first, translations=spanish_first.languages[1:]
    )
    lockdown = directive(action=Action.LOCKDOWN)
    alert = valid(cap.draft(Recorded(T0, directive=lockdown)).render(CapAudience()))
    first, second = infos(alert)
    assert first["language"] == "es"
    assert first["instruction"] == "LOCKDOWN! Cerrar con llave, apagar luces, fuera de la vista."
    assert second["language"] == "en-US"
    assert second["instruction"] == "Locks, lights, out of sight."


def test_an_english_only_site_keeps_one_info_block() -> None:
    alert = valid(writer().draft(Recorded(T0, directive=DIRECTIVES[2])).render(CapAudience()))
    assert len(alert.findall(CAP + "info")) == 1
    presses = valid(bilingual().draft(press("panic")).render(CapAudience()))
    assert len(presses.findall(CAP + "info")) == 1  # a press has no site wording
