"""A small line chart as inline SVG, drawn on the server (no chart library, no script):
the values a Prometheus check measured, one point per measurement, each point coloured
by how it was judged and titled with its value, so a reader sees the trend at a glance
and the numbers on hover or in the table beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 320
HEIGHT = 96
PAD = 8


@dataclass(frozen=True, slots=True)
class Point:
    label: str  # the time as people read it
    value: float
    outcome: str  # passed | failed | inconclusive | error


def numeric_points(measurements: Sequence[tuple[str, object, str]]) -> list[Point]:
    """(label, value, outcome) triples reduced to those with a finite number."""
    points = []
    for label, value, outcome in measurements:
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            points.append(Point(label, float(value), outcome))
    return points


def render_chart(points: Sequence[Point], *, title: str) -> str:
    """An `<svg role="img">` with a line through `points` (left to right in order),
    or "" when there is nothing to draw."""
    if not points:
        return ""
    low = min(p.value for p in points)
    high = max(p.value for p in points)
    span = high - low or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * step if len(points) > 1 else WIDTH / 2

    def y(value: float) -> float:
        if high == low:
            return HEIGHT / 2
        return HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD)

    line = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
    dots = "".join(
        f'<circle class="chart-point chart-{escape(p.outcome)}" cx="{x(i):.1f}" '
        f'cy="{y(p.value):.1f}" r="3.5"><title>{escape(p.label)}: {p.value:g} '
        f"({escape(p.outcome)})</title></circle>"
        for i, p in enumerate(points)
    )
    summary = (
        f"{title}: {len(points)} measurements from {low:g} to {high:g}, last {points[-1].value:g}"
    )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(summary)}">'
        f'<polyline class="chart-line" points="{line}" fill="none"/>{dots}</svg>'
    )


__all__ = ["Point", "numeric_points", "render_chart"]
