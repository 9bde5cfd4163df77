"""Small statistics for insights: percentiles by nearest rank, and intervals clipped to a
range. Pure, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Percentiles:
    """p50 and p90 of some durations in seconds; both None when there are none."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, samples: Sequence[float]) -> Percentiles:
        ordered = sorted(samples)
        return cls(len(ordered), percentile(ordered, 50), percentile(ordered, 90))


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest sample with at least p% of the samples at or below it
    (always a measured value, never an interpolation). None without samples."""
    if not ordered:
        return None
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def overlap(start: datetime, end: datetime, since: datetime, until: datetime) -> float:
    """Seconds of [start, end) that fall within [since, until)."""
    lo, hi = max(start, since), min(end, until)
    return max((hi - lo).total_seconds(), 0.0)
