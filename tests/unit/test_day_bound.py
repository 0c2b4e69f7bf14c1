"""The audit pages' day filter, shared by the school and the district console."""

from __future__ import annotations

import pytest

from hub.console.reports import day_bound
from hub.errors import Invalid


def test_a_day_filter_spans_the_whole_day_and_refuses_a_bad_date() -> None:
    start = day_bound("2026-03-04", end=False)
    end = day_bound("2026-03-04", end=True)
    assert start is not None and end is not None
    assert end - start == 86400
    assert day_bound("", end=True) is None
    with pytest.raises(Invalid, match="YYYY-MM-DD"):
        day_bound("04/03/2026", end=False)
