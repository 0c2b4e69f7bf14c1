"""Latency summaries: nearest-rank percentiles, never interpolated."""

from __future__ import annotations

import pytest

from hub.stats import percentile, summary

VALUES = [15.0, 20.0, 35.0, 40.0, 50.0]


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.0, 15.0),
        (0.05, 15.0),
        (0.30, 20.0),
        (0.40, 20.0),
        (0.50, 35.0),
        (0.95, 50.0),
        (1.0, 50.0),
    ],
)
def test_nearest_rank_percentile(fraction: float, expected: float) -> None:
    assert percentile(VALUES, fraction) == expected


def test_percentile_ignores_input_order_and_does_not_sort_in_place() -> None:
    values = [50.0, 15.0, 40.0, 20.0, 35.0]
    assert percentile(values, 0.5) == 35.0
    assert values == [50.0, 15.0, 40.0, 20.0, 35.0]


def test_percentile_is_always_a_measured_value() -> None:
    values = [1.0, 2.0, 10.0, 11.0]
    for n in range(101):
        assert percentile(values, n / 100) in values


def test_p95_of_twenty_values_is_the_nineteenth() -> None:
    values = [float(n) for n in range(1, 21)]
    assert percentile(values, 0.95) == 19.0


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_summary_of_an_empty_list() -> None:
    assert summary([]) == {"p50": None, "p95": None, "max": None}


def test_summary_rounds_to_a_tenth() -> None:
    assert summary([12.34, 56.78, 9.01]) == {"p50": 12.3, "p95": 56.8, "max": 56.8}


def test_summary_of_one_value() -> None:
    assert summary([7.0]) == {"p50": 7.0, "p95": 7.0, "max": 7.0}
