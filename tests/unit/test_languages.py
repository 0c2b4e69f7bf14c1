"""A site's languages and wording: shipped English and Spanish, a district's own language,
and every mistake in a wording file named by file and key."""

from __future__ import annotations

import pytest

from protocol.languages import SPANISH, SiteWording, WordingError, parse_wording
from protocol.srp import Action, Vocabulary
from protocol.wording import directive_lines, idle_lines
from tests.unit.factories import directive

SOURCE = "/etc/roomcast/wording.toml"

VIETNAMESE = {
    "phrases": {
        "evacuate": "Đến: {location}",
        "shelter": "Vì {hazard}:",
        "strategy": "{strategy}.",
        "standby_term": "CHỜ",
        "standby": "Đang chờ văn phòng.",
    },
    **{a.value: {"term": f"T-{a.value}", "directive": f"D-{a.value}"} for a in Action},
    "lockdown": {"term": "PHONG TỎA", "directive": "Khóa cửa, tắt đèn, tránh xa tầm nhìn."},
}


def test_no_file_means_english_only_in_srp_words() -> None:
    wording = parse_wording({}, SOURCE)
    assert wording.codes == ("en",)
    assert wording.first[Action.LOCKDOWN].directive == "Locks, lights, out of sight."
    assert wording.unchecked == ()


def test_shipped_spanish_is_marked_as_the_districts_to_check_until_it_says_checked() -> None:
    unchecked = parse_wording({"languages": ["en", "es"]}, SOURCE)
    assert unchecked.codes == ("en", "es")
    assert unchecked.unchecked == ("es",)
    assert unchecked.languages[1] == SPANISH
    checked = parse_wording({"languages": ["en", "es"], "es": {"checked": True}}, SOURCE)
    assert checked.unchecked == ()


def test_spanish_words_a_shelter_with_the_offices_hazard_and_strategy_translated() -> None:
    shelter = directive(action=Action.SHELTER, hazard="Tornado", strategy="Go to the shelter area")
    assert directive_lines(shelter, SPANISH) == ("Por tornado:", "Vayan al área de refugio.")
    assert directive_lines(shelter, Vocabulary()) == ("For Tornado:", "Go to the shelter area.")


def test_a_location_is_translated_by_the_file_or_shown_as_typed() -> None:
    wording = parse_wording(
        {"languages": ["en", "es"], "es": {"locations": {"Football Field": "Campo de fútbol"}}},
        SOURCE,
    )
    spanish = wording.languages[1]
    field = directive(action=Action.EVACUATE, location="football  field")
    assert directive_lines(field, spanish) == ("Hacia: Campo de fútbol",)
    gym = directive(action=Action.EVACUATE, location="Gym")
    assert directive_lines(gym, spanish) == ("Hacia: Gym",)


def test_a_district_overrides_a_shipped_term_and_keeps_the_rest() -> None:
    wording = parse_wording(
        {"languages": ["es", "en"], "es": {"lockdown": {"term": "ENCIERRO"}}}, SOURCE
    )
    assert wording.first.language == "es"
    assert wording.first[Action.LOCKDOWN].term == "ENCIERRO"
    assert wording.first[Action.LOCKDOWN].directive == SPANISH[Action.LOCKDOWN].directive


def test_a_language_roomcast_does_not_ship_gives_every_word() -> None:
    wording = parse_wording({"languages": ["en", "vi"], "vi": VIETNAMESE}, SOURCE)
    vietnamese = wording.languages[1]
    assert vietnamese[Action.LOCKDOWN].term == "PHONG TỎA"
    assert idle_lines(vietnamese) == ("CHỜ", ("Đang chờ văn phòng.",))
    incomplete = {k: v for k, v in VIETNAMESE.items() if k != "hold"}
    with pytest.raises(WordingError, match=r"wording\.toml: vi\.hold\.term: missing"):
        parse_wording({"languages": ["vi"], "vi": incomplete}, SOURCE)


def test_text_is_normalised_to_composed_characters() -> None:
    decomposed = "Cafe\u0301"
    wording = parse_wording({"languages": ["es"], "es": {"hold": {"term": decomposed}}}, SOURCE)
    assert wording.first[Action.HOLD].term == "Café"


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"languages": "en"}, "languages", "must list 1 to 4"),
        ({"languages": []}, "languages", "must list 1 to 4"),
        ({"languages": ["en", "EN!"]}, "languages[1]", "not a language code"),
        ({"languages": ["en", "en"]}, "languages", "twice"),
        ({"languages": ["en"], "es": {}}, "es", "not a language of this site"),
        ({"languages": ["es"], "es": {"lockdown": {"term": 3}}}, "es.lockdown.term", "text"),
        ({"languages": ["es"], "es": {"lockdown": {"colour": "x"}}}, "es.lockdown.colour", "only"),
        ({"languages": ["es"], "es": {"lockdwn": {}}}, "es.lockdwn", "is not an action"),
        ({"languages": ["es"], "es": {"hold": {"term": ""}}}, "es.hold.term", "1 to 200"),
        ({"languages": ["es"], "es": {"hold": {"term": "A\x07"}}}, "es.hold.term", "control"),
        ({"languages": ["es"], "es": {"checked": "yes"}}, "es.checked", "true or false"),
        ({"languages": ["es"], "es": []}, "es", "must be a table"),
        (
            {"languages": ["es"], "es": {"phrases": {"evacuate": "Hacia el lugar"}}},
            "es.phrases.evacuate",
            "must contain {location}",
        ),
        (
            {"languages": ["es"], "es": {"phrases": {"shelter": "Por {hazard"}}},
            "es.phrases.shelter",
            "literal brace",
        ),
        (
            {"languages": ["es"], "es": {"phrases": {"standby": "{x}"}}},
            "es.phrases.standby",
            "must contain no {...}",
        ),
        ({"languages": ["es"], "es": {"phrases": {"motto": "x"}}}, "es.phrases.motto", "unknown"),
        ({"languages": ["es"], "es": {"locations": {"Gym": 5}}}, "es.locations.Gym", "text"),
    ],
)
def test_a_broken_wording_file_is_refused_naming_the_file_and_key(
    data: dict[str, object], key: str, problem: str
) -> None:
    with pytest.raises(WordingError) as caught:
        parse_wording(data, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: {key}: "), caught.value
    assert problem in str(caught.value)
    assert caught.value.key == key


def test_a_site_shows_at_least_one_language() -> None:
    with pytest.raises(ValueError, match="at least one language"):
        SiteWording(())


def test_the_consoles_replica_of_an_idle_room_is_in_the_sites_first_language() -> None:
    from hub.console.board import screen_of

    spanish_first = parse_wording({"languages": ["es", "en"]}, SOURCE).first
    idle = screen_of(None, spanish_first, link_lost=False)
    assert (idle.term, idle.lines) == ("EN ESPERA", ("Esperando a la oficina.",))
    lockdown = screen_of(directive(), spanish_first, link_lost=False)
    assert lockdown.term == "LOCKDOWN"  # SRP's term, in every language
    assert lockdown.lines == ("Cerrar con llave, apagar luces, fuera de la vista.",)
