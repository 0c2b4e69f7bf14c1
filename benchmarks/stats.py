"""Percentiles the way the hub's own reports compute them (nearest rank, never interpolated)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from hub.stats import percentile


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99 and max, in the unit given, rounded to 0.1."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    return {
        "count": len(values),
        "p50": round(percentile(values, 0.50), 1),
        "p95": round(percentile(values, 0.95), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
    }


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
