"""From directive and link state to what the room sees: screen, brightness and LED."""

from __future__ import annotations

import re
from typing import Any

import pytest

from device.screen import LinkState, ScreenView
from device.view import LinkView, brightness, idle_shift, indicator, screen_view
from protocol.messages import Directive
from protocol.srp import Action, Vocabulary
from protocol.topics import ScopeKind
from protocol.wording import IDLE_TERM
from tests.unit.factories import T0, directive

VOCABULARY = Vocabulary()
OK = LinkView(LinkState.OK, 0.0)


def show(
    d: Directive | None, *, link: LinkView = OK, now: float = T0, simulated: bool = False
) -> ScreenView:
    return screen_view(
        d,
        room_label="Science Lab",
        simulated=simulated,
        link=link,
        vocabulary=VOCABULARY,
        now=now,
    )


def evacuate(**more: Any) -> Directive:
    return directive(action=Action.EVACUATE, location="Football field", **more)


def shelter(**more: Any) -> Directive:
    return directive(
        action=Action.SHELTER, hazard="tornado", strategy="Go to the shelter area", **more
    )


def release() -> Directive:
    return directive(scope=ScopeKind.ROOM, target="101", action=Action.RELEASE)


def test_evacuate_shows_where_to() -> None:
    screen = show(evacuate())
    assert screen.term == "EVACUATE"
    assert screen.lines == ("To: Football field",)


def test_shelter_shows_hazard_and_strategy() -> None:
    screen = show(shelter())
    assert screen.term == "SHELTER"
    assert screen.lines == ("For tornado:", "Go to the shelter area.")


def test_no_directive_shows_standby() -> None:
    screen = show(None)
    assert screen.term == IDLE_TERM == "STANDBY"
    assert screen.lines == ("Waiting for the front office.",)
    assert screen.drill is False


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (Action.HOLD, "In your room or area. Clear the halls."),
        (Action.SECURE, "Get inside. Lock outside doors."),
        (Action.LOCKDOWN, "Locks, lights, out of sight."),
    ],
)
def test_other_actions_show_the_srp_directive(action: Action, text: str) -> None:
    screen = show(directive(action=action))
    assert screen.lines == (text,)
    assert screen.colour == VOCABULARY[action].colour


def test_a_note_is_shown_after_the_directive() -> None:
    screen = show(evacuate(note="Use the north stairs"))
    assert screen.lines == ("To: Football field", "Use the north stairs")


def test_overridden_term_is_shown() -> None:
    vocabulary = VOCABULARY.with_overrides({"secure": {"term": "LOCKOUT"}})
    screen = screen_view(
        directive(action=Action.SECURE),
        room_label="x",
        simulated=False,
        link=OK,
        vocabulary=vocabulary,
        now=T0,
    )
    assert screen.term == "LOCKOUT"


OCCUPANCY_WORDS = ("ok", "safe", "accounted", "student", "occupied", "occupant", "present")


@pytest.mark.parametrize("drill", [False, True])
def test_lockdown_screen_reveals_nothing_about_occupancy(drill: bool) -> None:
    screen = show(directive(action=Action.LOCKDOWN, drill=drill))
    shown = " ".join((screen.term, *screen.lines)).lower()
    words = set(re.findall(r"[a-z]+", shown))
    assert "ok" not in words
    for word in OCCUPANCY_WORDS:
        assert word not in shown, word


def test_drill_flag_reaches_the_screen() -> None:
    assert show(directive(drill=True)).drill is True
    assert show(directive(drill=False)).drill is False


@pytest.mark.parametrize("drill", [False, True])
def test_a_simulated_node_says_so_on_every_screen_and_a_real_one_does_not(drill: bool) -> None:
    for d in (None, directive(drill=drill), release()):
        simulated, real = show(d, simulated=True), show(d)
        assert simulated.simulated and not real.simulated
        # The flag says it; the room label stays the room's, for the screen to mark.
        assert simulated.room == real.room == "Science Lab"


def test_link_state_and_quantised_age_reach_the_screen() -> None:
    screen = show(directive(), link=LinkView(LinkState.LINK_LOST, 37.9))
    assert screen.link is LinkState.LINK_LOST
    assert screen.link_age_s == 35
    assert show(directive(), link=LinkView(LinkState.HUB_OFFLINE, 200.0)).link_age_s == 180
    assert show(None, link=LinkView(LinkState.LINK_LOST, 12.0)).link_age_s == 10


def test_the_age_of_a_link_that_is_up_does_not_change_the_screen() -> None:
    # No bar shows it, so a heartbeat a little late must not redraw the same frame.
    assert show(directive(), link=LinkView(LinkState.OK, 0.5)) == show(
        directive(), link=LinkView(LinkState.OK, 7.0)
    )
    assert show(None, link=LinkView(LinkState.OK, 12.0)).link_age_s == 0


def test_room_and_clock_are_shown() -> None:
    screen = show(directive())
    assert screen.room == "Science Lab"
    assert re.fullmatch(r"\d\d:\d\d", screen.clock)


def test_same_minute_gives_the_same_screen() -> None:
    minute_start = T0 - T0 % 60
    assert show(directive(), now=minute_start + 1) == show(directive(), now=minute_start + 59)


def test_active_directive_is_not_shifted_but_idle_screens_are() -> None:
    now = T0 - T0 % 2700  # a step where idle_shift is (-1, -1)
    assert idle_shift(now) != (0, 0)
    assert show(directive(action=Action.LOCKDOWN), now=now).shift == (0, 0)
    assert show(directive(action=Action.ALL_CLEAR), now=now).shift == idle_shift(now)
    assert show(release(), now=now).shift == idle_shift(now)
    assert show(None, now=now).shift == idle_shift(now)


def test_idle_shift_stays_within_one_pixel_and_visits_all_nine_positions() -> None:
    seen = set()
    for n in range(0, 2 * 9 * 300, 60):
        dx, dy = idle_shift(T0 + n)
        assert -1 <= dx <= 1 and -1 <= dy <= 1
        seen.add((dx, dy))
    assert len(seen) == 9


def test_idle_shift_steps_only_every_five_minutes() -> None:
    start = T0 - T0 % 300
    assert idle_shift(start) == idle_shift(start + 299)
    assert idle_shift(start) != idle_shift(start + 300)


# -- brightness and indicator ----------------------------------------------------------------


def test_brightness_dims_idle_screens_and_not_active_ones() -> None:
    assert brightness(directive(action=Action.ALL_CLEAR)) < 1.0
    assert brightness(release()) < 1.0
    assert brightness(None) < 1.0
    assert brightness(directive(action=Action.LOCKDOWN)) == 1.0
    assert brightness(evacuate()) == 1.0


def test_indicator_shows_the_directive_colour_steadily() -> None:
    colour, pattern = indicator(directive(action=Action.LOCKDOWN), LinkState.OK, VOCABULARY)
    assert pattern == "steady"
    assert colour == pytest.approx((210 / 255, 0.0, 0.0))


def test_indicator_blinks_for_a_drill() -> None:
    _, pattern = indicator(directive(drill=True), LinkState.OK, VOCABULARY)
    assert pattern == "blink"


@pytest.mark.parametrize("link", [LinkState.LINK_LOST, LinkState.HUB_OFFLINE])
@pytest.mark.parametrize("drill", [False, True])
def test_indicator_pulses_while_the_link_is_down(link: LinkState, drill: bool) -> None:
    colour, pattern = indicator(directive(drill=drill), link, VOCABULARY)
    assert pattern == "pulse"
    assert colour == pytest.approx((210 / 255, 0.0, 0.0))


def test_idle_indicator_is_a_dim_green_and_visible_when_the_link_is_down() -> None:
    colour, pattern = indicator(None, LinkState.OK, VOCABULARY)
    assert pattern == "steady"
    assert colour[1] > 0 and colour[0] == colour[2] == 0
    colour, pattern = indicator(directive(action=Action.ALL_CLEAR), LinkState.LINK_LOST, VOCABULARY)
    assert pattern == "pulse"
    assert any(colour)
