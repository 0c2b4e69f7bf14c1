"""How every display words a directive: the classroom screen, the console's replica, a sign.

One function, so the office sees on the board exactly the words the classroom sees.
"""

from __future__ import annotations

from protocol.messages import Directive
from protocol.srp import Action, Vocabulary

IDLE_TERM = "STANDBY"
"""Shown before the first directive ever arrives: nothing is known, and the screen says so."""
IDLE_TEXT = "Waiting for the front office."


def directive_lines(directive: Directive, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The directive text: Evacuate's location and Shelter's hazard and strategy stand in
    for the generic SRP wording, and the district's note follows."""
    if directive.action is Action.EVACUATE:
        lines: tuple[str, ...] = (f"To: {directive.location}",)
    elif directive.action is Action.SHELTER:
        lines = (f"For {directive.hazard}:", f"{directive.strategy}.")
    else:
        lines = (vocabulary[directive.action].directive,)
    return (*lines, directive.note) if directive.note else lines
