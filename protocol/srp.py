"""The Standard Response Protocol vocabulary (SRP K-12 v4.0, the "I Love U Guys" Foundation).

Districts must keep the terms and directives; they may override the wording they display
(some still say "Lockout"), and they add their own Evacuate locations and Shelter hazards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    """What the office asks every room in scope to do."""

    HOLD = "hold"
    SECURE = "secure"
    LOCKDOWN = "lockdown"
    EVACUATE = "evacuate"
    SHELTER = "shelter"
    ALL_CLEAR = "all_clear"
    RELEASE = "release"
    """A room-level release of a Lockdown, by responders or staff at the door."""


ACTION_ALIASES: Mapping[str, Action] = MappingProxyType(
    {
        "lockout": Action.SECURE,  # the pre-2021 term; still in many schools' plans
        "all-clear": Action.ALL_CLEAR,
        "allclear": Action.ALL_CLEAR,
    }
)

PRECEDENCE: tuple[Action, ...] = (
    Action.LOCKDOWN,
    Action.EVACUATE,
    Action.SHELTER,
    Action.SECURE,
    Action.HOLD,
)
"""District precedence when more than one applies, highest first."""


_IDLE = frozenset({Action.ALL_CLEAR, Action.RELEASE})


def is_idle(action: Action) -> bool:
    """Whether ``action`` asks nothing of the room: an All clear, or a room's release.

    An idle room's screen dims and drifts against burn-in, its LED goes green, and a drill
    neither starts nor stays running on it.
    """
    return action in _IDLE


def parse_action(text: str) -> Action:
    """Accept an action name as a person types it ("Lockout", "all-clear", "LOCKDOWN")."""
    key = text.strip().lower().replace(" ", "_")
    if key in ACTION_ALIASES:
        return ACTION_ALIASES[key]
    try:
        return Action(key)
    except ValueError:
        names = ", ".join(a.value.replace("_", "-") for a in Action)
        raise ValueError(f"unknown action {text!r}; expected one of: {names}") from None


@dataclass(frozen=True)
class Wording:
    """What a display shows for one action: the term, large, and the directive under it."""

    term: str
    directive: str
    colour: tuple[int, int, int]
    """Published SRP icon colour (RGB); Shelter has none published, so we use amber."""


DEFAULT_WORDING: Mapping[Action, Wording] = MappingProxyType(
    {
        Action.HOLD: Wording("HOLD", "In your room or area. Clear the halls.", (128, 0, 160)),
        Action.SECURE: Wording("SECURE", "Get inside. Lock outside doors.", (0, 90, 220)),
        Action.LOCKDOWN: Wording("LOCKDOWN", "Locks, lights, out of sight.", (210, 0, 0)),
        Action.EVACUATE: Wording("EVACUATE", "To a location.", (0, 150, 60)),
        Action.SHELTER: Wording("SHELTER", "State the hazard and safety strategy.", (230, 140, 0)),
        Action.ALL_CLEAR: Wording("ALL CLEAR", "Resume normal activity.", (90, 90, 90)),
        Action.RELEASE: Wording(
            "RELEASED", "Lockdown released for this room. Follow staff instructions.", (90, 90, 90)
        ),
    }
)

DEFAULT_SHELTER_STRATEGIES: Mapping[str, str] = MappingProxyType(
    {
        "tornado": "Go to the shelter area",
        "hazmat": "Seal the room",
        "earthquake": "Drop, cover and hold",
        "tsunami": "Get to high ground",
    }
)


@dataclass(frozen=True)
class Phrases:
    """How one language frames a directive's details and the screen before any directive.

    ``{location}``, ``{hazard}`` and ``{strategy}`` stand for the office's words, as
    translated by the site's wording file (or as typed, when it has no translation).
    """

    evacuate: str = "To: {location}"
    shelter: str = "For {hazard}:"
    strategy: str = "{strategy}."
    standby_term: str = "STANDBY"
    standby: str = "Waiting for the front office."


def _no_words() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Vocabulary:
    """A site's wording in one language: SRP defaults, with the district's overrides applied.

    ``locations``, ``hazards`` and ``strategies`` translate what the office typed (in the
    site's first language) into this one, keyed case-insensitively; a text with no entry is
    shown as typed, since an untranslated location still names the place.
    """

    wording: Mapping[Action, Wording] = field(default_factory=lambda: DEFAULT_WORDING)
    shelter_strategies: Mapping[str, str] = field(
        default_factory=lambda: DEFAULT_SHELTER_STRATEGIES
    )
    language: str = "en"
    phrases: Phrases = field(default_factory=Phrases)
    locations: Mapping[str, str] = field(default_factory=_no_words)
    hazards: Mapping[str, str] = field(default_factory=_no_words)
    strategies: Mapping[str, str] = field(default_factory=_no_words)

    def __post_init__(self) -> None:
        missing = [a.value for a in Action if a not in self.wording]
        if missing:
            raise ValueError(f"site wording has no entry for: {', '.join(missing)}")

    def with_overrides(self, overrides: Mapping[str, Mapping[str, str]]) -> Vocabulary:
        """Apply ``{"secure": {"term": "LOCKOUT"}}``-style overrides from a site config."""
        wording = dict(self.wording)
        for name, fields in overrides.items():
            action = parse_action(name)
            unknown = set(fields) - {"term", "directive"}
            if unknown:
                raise ValueError(f"wording.{name}: unknown keys {sorted(unknown)}")
            current = wording[action]
            wording[action] = replace(
                current,
                term=fields.get("term", current.term),
                directive=fields.get("directive", current.directive),
            )
        return replace(self, wording=MappingProxyType(wording))

    def __getitem__(self, action: Action) -> Wording:
        return self.wording[action]

    def location(self, typed: str) -> str:
        """The office's Evacuate location in this language (as typed if not translated)."""
        return self.locations.get(fold(typed), typed)

    def hazard(self, typed: str) -> str:
        return self.hazards.get(fold(typed), typed)

    def strategy(self, typed: str) -> str:
        return self.strategies.get(fold(typed), typed)


def fold(text: str) -> str:
    """The key a translation is looked up by: case and spacing do not matter."""
    return " ".join(text.split()).casefold()
