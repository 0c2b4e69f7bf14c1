"""How every display words a directive: the classroom screen, the console's replica, a sign.

One function, so the office sees on the board exactly the words the classroom sees. A
site words each directive in each of its languages (:mod:`protocol.languages`); the
office's own words (a location, a hazard, a strategy) are translated by the site's
wording file, or shown as typed.
"""

from __future__ import annotations

from protocol.messages import Directive
from protocol.srp import Action, Vocabulary

IDLE_TERM = "STANDBY"
"""Shown before the first directive ever arrives: nothing is known, and the screen says so."""
IDLE_TEXT = "Waiting for the front office."


def directive_lines(directive: Directive, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The directive text: Evacuate's location and Shelter's hazard and strategy stand in
    for the generic SRP wording, and the district's note follows (as typed: a note is
    free text the office writes for this one directive)."""
    phrases = vocabulary.phrases
    if directive.action is Action.EVACUATE:
        location = vocabulary.location(directive.location or "")
        lines: tuple[str, ...] = (phrases.evacuate.format(location=location),)
    elif directive.action is Action.SHELTER:
        hazard = vocabulary.hazard(directive.hazard or "")
        strategy = vocabulary.strategy(directive.strategy or "").rstrip(".")
        lines = (phrases.shelter.format(hazard=hazard), phrases.strategy.format(strategy=strategy))
    else:
        lines = (vocabulary[directive.action].directive,)
    return (*lines, directive.note) if directive.note else lines


def idle_lines(vocabulary: Vocabulary) -> tuple[str, tuple[str, ...]]:
    """The standby screen's term and text, before any directive, in this language."""
    return vocabulary.phrases.standby_term, (vocabulary.phrases.standby,)
