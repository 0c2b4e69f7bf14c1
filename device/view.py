"""From directive and link state to what the room sees: the screen and the status LED.

Kept apart from the service so that "what does a Lockdown look like" is one pure
function a test (or `roomcast screens`) can call without a broker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from device.screen import LinkState, ScreenView, Translation
from protocol.messages import Directive
from protocol.srp import Vocabulary, is_idle
from protocol.wording import directive_lines, idle_lines


@dataclass(frozen=True)
class LinkView:
    state: LinkState
    age_s: float


def output_text(directive: Directive, vocabulary: Vocabulary) -> str:
    """One line for a message sign: the term, then what the screen says under it."""
    wording = vocabulary[directive.action]
    return " - ".join((wording.term, " ".join(directive_lines(directive, vocabulary))))


def screen_view(
    directive: Directive | None,
    *,
    room_label: str,
    simulated: bool,
    link: LinkView,
    vocabulary: Vocabulary,
    now: float,
    translations: tuple[Vocabulary, ...] = (),
) -> ScreenView:
    """Build the screen; quantises times so the frame changes only when the text does.

    The link's age is shown only while the link is down: with the link up it stays 0, so
    a heartbeat arriving a little late does not redraw (and rewrite) the same frame.
    ``simulated`` has no default, so that every caller says whether its frames are a
    simulator's (which each frame then says, see ``ScreenView.simulated``).
    ``vocabulary`` is the site's first language; ``translations`` its others, in order.
    """
    clock = time.strftime("%H:%M", time.localtime(now))
    age = _shown_age(link)
    if directive is None:
        term, lines = idle_lines(vocabulary)
        return ScreenView(
            term=term,
            lines=lines,
            translations=tuple(Translation(v.language, *idle_lines(v)) for v in translations),
            room=room_label,
            simulated=simulated,
            clock=clock,
            link=link.state,
            link_age_s=age,
            shift=idle_shift(now),
        )
    wording = vocabulary[directive.action]
    idle = is_idle(directive.action)
    return ScreenView(
        term=wording.term,
        lines=directive_lines(directive, vocabulary),
        translations=tuple(
            Translation(v.language, v[directive.action].term, directive_lines(directive, v))
            for v in translations
        ),
        drill=directive.drill,
        room=room_label,
        simulated=simulated,
        clock=clock,
        link=link.state,
        link_age_s=age - age % 5,
        colour=wording.colour,
        shift=idle_shift(now) if idle else (0, 0),
    )


def _shown_age(link: LinkView) -> float:
    """Seconds since the hub was last heard, as the link bar says it (5 s, then 1 min
    steps); 0 while the link is up, when no bar is drawn."""
    if link.state is LinkState.OK:
        return 0.0
    age = link.age_s if link.age_s < 90 else link.age_s - link.age_s % 60
    return age - age % 5


def idle_shift(now: float) -> tuple[int, int]:
    """A one-pixel step every five minutes around a 3x3 square, against OLED burn-in."""
    step = int(now // 300) % 9
    return (step % 3 - 1, step // 3 - 1)


def brightness(directive: Directive | None) -> float:
    """An active directive at full brightness; the idle screen dimmed."""
    if directive is None or is_idle(directive.action):
        return 0.3
    return 1.0


def indicator(
    directive: Directive | None, link: LinkState, vocabulary: Vocabulary
) -> tuple[tuple[float, float, float], str]:
    """The status LED: directive colour; blink for a drill, pulse while the link is down."""
    if directive is None or is_idle(directive.action):
        colour: tuple[float, float, float] = (0.0, 0.05, 0.0)
    else:
        r, g, b = vocabulary[directive.action].colour
        colour = (r / 255, g / 255, b / 255)
    if link is not LinkState.OK:
        return colour if any(colour) else (0.2, 0.2, 0.0), "pulse"
    if directive is not None and directive.drill:
        return colour, "blink"
    return colour, "steady"
