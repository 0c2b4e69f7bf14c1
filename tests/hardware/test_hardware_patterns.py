"""The activation state machine, fed with explicit times: no threads, no sleeping."""

from __future__ import annotations

import pytest

from hardware.patterns import HoldPattern, PatternMachine, PressPattern, Signal

ACTIVATED, STUCK, RECOVERED = Signal.ACTIVATED, Signal.STUCK, Signal.RECOVERED


def hold_machine(hold_s: float = 1.5, stuck_after_s: float = 20.0) -> PatternMachine:
    return PatternMachine(HoldPattern(hold_s), stuck_after_s=stuck_after_s, debounce_s=0.03)


def press_machine(presses: int = 3, window_s: float = 2.0) -> PatternMachine:
    return PatternMachine(PressPattern(presses, window_s), stuck_after_s=20.0, debounce_s=0.03)


def test_hold_activates_once_the_hold_time_has_passed() -> None:
    machine = hold_machine()
    assert machine.press(100.0) == []
    assert machine.next_deadline() == pytest.approx(101.5)
    assert machine.tick(101.49) == []
    assert machine.tick(101.5) == [ACTIVATED]


def test_a_long_hold_activates_only_once() -> None:
    machine = hold_machine()
    machine.press(0.0)
    signals = [s for t in (1.5, 2.0, 5.0, 10.0) for s in machine.tick(t)]
    signals += machine.release(12.0)
    assert signals == [ACTIVATED]


def test_a_short_bump_does_nothing() -> None:
    machine = hold_machine()
    machine.press(0.0)
    assert machine.release(0.4) == []
    assert machine.tick(5.0) == []
    assert machine.next_deadline() is None


def test_a_hold_completed_before_a_late_tick_is_not_lost() -> None:
    """The watcher thread may wake late; the release still sees the completed hold."""
    machine = hold_machine()
    machine.press(0.0)
    assert machine.release(1.6) == [ACTIVATED]


def test_each_new_hold_activates_again() -> None:
    machine = hold_machine()
    first = machine.press(0.0) + machine.tick(1.5) + machine.release(2.0)
    second = machine.press(3.0) + machine.tick(4.5) + machine.release(5.0)
    assert first == second == [ACTIVATED]


def test_presses_within_the_window_activate_on_the_last_one() -> None:
    machine = press_machine(presses=3, window_s=2.0)
    signals = []
    for start in (0.0, 0.5, 1.0):
        signals += machine.press(start) + machine.release(start + 0.1)
    assert signals == [ACTIVATED]


def test_presses_spread_beyond_the_window_do_not_activate() -> None:
    machine = press_machine(presses=3, window_s=2.0)
    signals = []
    for start in (0.0, 1.5, 3.0):
        signals += machine.press(start) + machine.release(start + 0.1)
    assert signals == []


def test_the_window_slides_over_recent_presses() -> None:
    machine = press_machine(presses=3, window_s=2.0)
    signals = []
    for start in (0.0, 3.0, 3.5, 4.0):
        signals += machine.press(start) + machine.release(start + 0.1)
    assert signals == [ACTIVATED]


def test_contact_bounce_does_not_count_as_presses() -> None:
    machine = press_machine(presses=2, window_s=2.0)
    signals = machine.press(0.0) + machine.release(0.002)  # bounce
    signals += machine.press(0.004) + machine.release(0.005)  # bounce
    assert signals == []
    signals += machine.press(0.5) + machine.release(0.6)  # one real press only
    assert signals == []


def test_the_count_restarts_after_an_activation() -> None:
    machine = press_machine(presses=2, window_s=2.0)
    signals = []
    for start in (0.0, 0.3, 0.6):
        signals += machine.press(start) + machine.release(start + 0.1)
    assert signals == [ACTIVATED]


def test_a_stuck_button_is_reported_once_and_recovers_on_release() -> None:
    machine = hold_machine(hold_s=1.5, stuck_after_s=20.0)
    signals = machine.press(0.0)
    signals += [s for t in range(1, 120) for s in machine.tick(float(t))]
    assert signals == [ACTIVATED, STUCK]
    assert machine.stuck
    assert machine.next_deadline() is None  # nothing left to wait for but the release
    assert machine.release(120.0) == [RECOVERED]
    assert not machine.stuck


def test_a_stuck_press_pattern_button_never_activates() -> None:
    machine = press_machine(presses=1, window_s=1.0)
    signals = machine.press(0.0) + machine.tick(25.0) + machine.release(26.0)
    assert signals == [STUCK, RECOVERED]


def test_a_button_down_at_start_up_never_activates_but_can_be_stuck() -> None:
    machine = hold_machine()
    signals = machine.press(0.0, armed=False) + machine.tick(5.0)
    assert signals == []
    assert machine.tick(20.0) == [STUCK]
    assert machine.release(21.0) == [RECOVERED]
    assert machine.press(30.0) + machine.tick(31.5) == [ACTIVATED]


def test_a_repeated_press_edge_keeps_the_first_press_time() -> None:
    machine = hold_machine()
    machine.press(0.0)
    machine.press(1.0)
    assert machine.tick(1.5) == [ACTIVATED]


def test_a_release_without_a_press_is_ignored() -> None:
    assert press_machine().release(1.0) == []


def test_stuck_time_must_exceed_the_pattern() -> None:
    with pytest.raises(ValueError, match="stuck_after_s"):
        PatternMachine(HoldPattern(3.0), stuck_after_s=2.0, debounce_s=0.03)


@pytest.mark.parametrize(
    "bad", [lambda: HoldPattern(0.0), lambda: PressPattern(0, 1.0), lambda: PressPattern(2, 0.0)]
)
def test_patterns_refuse_nonsense(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]
