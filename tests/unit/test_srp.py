"""The SRP vocabulary: action names as people type them, wording, precedence, colours."""

from __future__ import annotations

import pytest

from protocol.srp import (
    DEFAULT_SHELTER_STRATEGIES,
    DEFAULT_WORDING,
    PRECEDENCE,
    Action,
    Vocabulary,
    Wording,
    parse_action,
)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Lockout", Action.SECURE),
        ("LOCKOUT", Action.SECURE),
        ("secure", Action.SECURE),
        ("all-clear", Action.ALL_CLEAR),
        ("ALL CLEAR", Action.ALL_CLEAR),
        ("All Clear", Action.ALL_CLEAR),
        ("allclear", Action.ALL_CLEAR),
        ("all_clear", Action.ALL_CLEAR),
        ("LOCKDOWN", Action.LOCKDOWN),
        ("  hold \n", Action.HOLD),
        ("Evacuate", Action.EVACUATE),
        ("shelter", Action.SHELTER),
        ("release", Action.RELEASE),
    ],
)
def test_parse_action_accepts_what_people_type(text: str, action: Action) -> None:
    assert parse_action(text) is action


@pytest.mark.parametrize("text", ["panic", "", "lock down", "clear"])
def test_unknown_action_lists_the_valid_ones(text: str) -> None:
    with pytest.raises(ValueError, match="unknown action") as caught:
        parse_action(text)
    message = str(caught.value)
    assert repr(text) in message
    assert message.endswith(
        "expected one of: hold, secure, lockdown, evacuate, shelter, all-clear, release"
    )


@pytest.mark.parametrize(
    ("action", "term", "text"),
    [
        (Action.HOLD, "HOLD", "In your room or area. Clear the halls."),
        (Action.SECURE, "SECURE", "Get inside. Lock outside doors."),
        (Action.LOCKDOWN, "LOCKDOWN", "Locks, lights, out of sight."),
    ],
)
def test_default_wording_is_srp_exactly(action: Action, term: str, text: str) -> None:
    wording = Vocabulary()[action]
    assert wording.term == term
    assert wording.directive == text


def test_every_action_has_wording() -> None:
    assert set(DEFAULT_WORDING) == set(Action)


def test_precedence_is_lockdown_evacuate_shelter_secure_hold() -> None:
    assert PRECEDENCE == (
        Action.LOCKDOWN,
        Action.EVACUATE,
        Action.SHELTER,
        Action.SECURE,
        Action.HOLD,
    )


def _dominant(rgb: tuple[int, int, int]) -> str:
    return "rgb"[max(range(3), key=lambda i: rgb[i])]


def test_srp_colours() -> None:
    vocabulary = Vocabulary()
    hold = vocabulary[Action.HOLD].colour
    assert hold[0] > hold[1] and hold[2] > hold[1]  # purple: red and blue, little green
    assert _dominant(vocabulary[Action.SECURE].colour) == "b"
    assert _dominant(vocabulary[Action.LOCKDOWN].colour) == "r"
    assert _dominant(vocabulary[Action.EVACUATE].colour) == "g"


def test_shelter_colour_is_distinct_from_the_other_four() -> None:
    vocabulary = Vocabulary()
    shelter = vocabulary[Action.SHELTER].colour
    others = [vocabulary[a].colour for a in (Action.HOLD, Action.SECURE, Action.LOCKDOWN)]
    others.append(vocabulary[Action.EVACUATE].colour)
    for colour in others:
        distance = sum((a - b) ** 2 for a, b in zip(shelter, colour, strict=True)) ** 0.5
        assert distance > 100, (shelter, colour)


def test_term_override_keeps_the_directive_text() -> None:
    vocabulary = Vocabulary().with_overrides({"secure": {"term": "LOCKOUT"}})
    assert vocabulary[Action.SECURE].term == "LOCKOUT"
    assert vocabulary[Action.SECURE].directive == "Get inside. Lock outside doors."
    assert vocabulary[Action.SECURE].colour == DEFAULT_WORDING[Action.SECURE].colour
    assert vocabulary[Action.LOCKDOWN] == DEFAULT_WORDING[Action.LOCKDOWN]


def test_override_by_alias_and_directive_text() -> None:
    vocabulary = Vocabulary().with_overrides({"Lockout": {"directive": "Lock the doors."}})
    assert vocabulary[Action.SECURE].directive == "Lock the doors."
    assert vocabulary[Action.SECURE].term == "SECURE"


def test_overrides_leave_the_original_untouched() -> None:
    original = Vocabulary()
    original.with_overrides({"hold": {"term": "STAY"}})
    assert original[Action.HOLD].term == "HOLD"
    assert DEFAULT_WORDING[Action.HOLD].term == "HOLD"


def test_override_with_an_unknown_key_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"^wording\.secure: unknown keys \['colour'\]$"):
        Vocabulary().with_overrides({"secure": {"colour": "red", "term": "X"}})


def test_override_of_an_unknown_action_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown action 'panic'"):
        Vocabulary().with_overrides({"panic": {"term": "PANIC"}})


def test_shelter_strategies_survive_overrides() -> None:
    vocabulary = Vocabulary().with_overrides({"hold": {"term": "STAY"}})
    assert vocabulary.shelter_strategies == DEFAULT_SHELTER_STRATEGIES
    assert vocabulary.shelter_strategies["tornado"] == "Go to the shelter area"


def test_vocabulary_must_cover_every_action() -> None:
    partial: dict[Action, Wording] = {
        a: w for a, w in DEFAULT_WORDING.items() if a is not Action.RELEASE
    }
    with pytest.raises(ValueError, match="no entry for: release"):
        Vocabulary(wording=partial)
