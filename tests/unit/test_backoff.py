"""Reconnect backoff: exponential growth of the cap, full jitter, reset."""

from __future__ import annotations

import pytest

from transport.backoff import Backoff


class RecordingDraw:
    """Returns the top of the range (the cap) and records every range it was asked for."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return high


def test_cap_doubles_until_the_maximum() -> None:
    draw = RecordingDraw()
    backoff = Backoff(initial_s=0.5, maximum_s=5.0, draw=draw)
    delays = [backoff.next_delay() for _ in range(7)]
    assert delays == pytest.approx([0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0])


def test_jitter_range_starts_at_half_the_initial_delay() -> None:
    draw = RecordingDraw()
    backoff = Backoff(initial_s=0.2, maximum_s=15.0, draw=draw)
    for _ in range(10):
        backoff.next_delay()
    assert [low for low, _ in draw.ranges] == pytest.approx([0.1] * 10)
    assert all(low <= high for low, high in draw.ranges)
    assert max(high for _, high in draw.ranges) == pytest.approx(15.0)


def test_the_delay_is_what_the_draw_returns() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=8.0, draw=lambda low, high: low)
    assert [backoff.next_delay() for _ in range(3)] == [0.5, 0.5, 0.5]


def test_reset_starts_again_from_the_initial_delay() -> None:
    draw = RecordingDraw()
    backoff = Backoff(initial_s=0.5, maximum_s=5.0, draw=draw)
    for _ in range(4):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(0.5)
    assert backoff.next_delay() == pytest.approx(1.0)


def test_custom_factor() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=100.0, factor=3.0, draw=RecordingDraw())
    assert [backoff.next_delay() for _ in range(4)] == pytest.approx([1.0, 3.0, 9.0, 27.0])


def test_default_draw_stays_within_range() -> None:
    backoff = Backoff(initial_s=0.2, maximum_s=1.0)
    for cap in (0.2, 0.4, 0.8, 1.0, 1.0):
        assert 0.1 <= backoff.next_delay() <= cap


@pytest.mark.parametrize(("initial", "maximum"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_invalid_settings_are_rejected(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="0 < initial_s <= maximum_s"):
        Backoff(initial_s=initial, maximum_s=maximum)
