"""Webhooks and email in the site's first language: the term and what the displays say."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema

from hub.relay.mail_text import text
from hub.relay.messages import Context, message_for
from hub.relay.store import Recorded
from protocol.languages import parse_wording
from protocol.messages import Directive
from protocol.srp import Action, Vocabulary
from tests.unit.factories import T0, directive
from tests.unit.test_relay_cap import PLACE, ROOMS

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs" / "webhook.schema.json").read_text(encoding="utf-8")
)
SPANISH_FIRST = parse_wording(
    {"languages": ["es", "en"], "es": {"locations": {"the flag pole": "el asta de la bandera"}}},
    "wording.toml",
).first


def context(vocabulary: Vocabulary) -> Context:
    def describe(given: Directive) -> dict[str, Any]:
        return {"term": vocabulary[given.action].term}

    address = {"street": "100 Main St", "city": "Austin", "region": "TX"}
    return Context(
        site_id="lincoln",
        site=replace(PLACE, address=address | {"postal_code": "78701", "country": "US"}),
        room=ROOMS.get,
        drill_in_room=lambda _: False,
        describe=describe,
        vocabulary=vocabulary,
    )


def body(given: Directive, vocabulary: Vocabulary) -> dict[str, Any]:
    message = message_for(Recorded(T0, directive=given), context(vocabulary))
    loaded: dict[str, Any] = json.loads(message.body)
    jsonschema.validate(loaded, SCHEMA, format_checker=jsonschema.FormatChecker())
    return loaded


def test_a_spanish_first_site_hands_off_in_spanish() -> None:
    evacuate = directive(action=Action.EVACUATE, location="the flag pole")
    sent = body(evacuate, SPANISH_FIRST)
    assert sent["directive"]["term"] == "EVACUATE"
    assert sent["directive"]["language"] == "es"
    assert sent["directive"]["text"] == ["Hacia: el asta de la bandera"]
    assert sent["directive"]["location"] == "the flag pole"  # as the office typed it
    mail = text(sent)
    assert mail.startswith("EVACUATE\n")
    assert "Says:     Hacia: el asta de la bandera\n" in mail


def test_an_english_site_says_the_srp_words() -> None:
    sent = body(directive(action=Action.LOCKDOWN, drill=True), Vocabulary())
    assert (sent["directive"]["language"], sent["directive"]["text"]) == (
        "en",
        ["Locks, lights, out of sight."],
    )
    assert "Says:     Locks, lights, out of sight.\n" in text(sent)
