"""Flow analytics: where releases wait on their way into an environment. Pure, no I/O.

A normal promotion's way in is cut into stages:

    ready      the release was eligible (verified upstream) but nobody had asked yet
    queued     requested, queued behind the active promotion of its environment and app
    gates      the active promotion, held by its gates (broken down by gate type below)
    deploying  committing the pin and syncing the cluster
    verifying  health, checks, soak

For each stage and each gate type: the time spent in it inside the range (open waits
count up to the range's end), p50/p90 of whole waits that ended inside the range, and
how many were still waiting at the end. The bottleneck is the stage or gate type with
the most time inside the range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shiplane.domain.insights.history import Timeline
from shiplane.domain.insights.stats import overlap, percentile

STAGES = ("ready", "queued", "gates", "deploying", "verifying")
GATE_PREFIX = "gate:"


@dataclass(frozen=True, slots=True)
class StageFlow:
    name: str
    """A stage (`ready`, `queued`, `gates`, `deploying`, `verifying`) or a gate type."""
    total_seconds: float
    """Time spent in it inside the range, summed over promotions (open waits included)."""
    count: int
    """Waits that ended inside the range (the samples of p50 and p90)."""
    p50_seconds: float | None
    p90_seconds: float | None
    open: int
    """Promotions still in it at the end of the range."""


@dataclass(frozen=True, slots=True)
class Flow:
    stages: tuple[StageFlow, ...]
    gates: tuple[StageFlow, ...]
    """One per gate type that held a promotion, the longest total first."""
    bottleneck: str | None
    """The stage, or `gate:<type>`, with the most time inside the range (None: no time)."""


@dataclass
class _Tally:
    total: float = 0.0
    samples: list[float] = field(default_factory=list)
    open: int = 0

    def result(self, name: str) -> StageFlow:
        ordered = sorted(self.samples)
        return StageFlow(
            name,
            self.total,
            len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 90),
            self.open,
        )


def flow(timelines: Sequence[Timeline], *, since: datetime, until: datetime) -> Flow:
    """Flow of the normal promotions among `timelines`."""
    stages = {name: _Tally() for name in STAGES}
    gates: dict[str, _Tally] = defaultdict(_Tally)
    for t in timelines:
        if not t.is_normal:
            continue
        for name, start, end in _stage_intervals(t):
            tally = stages[name]
            tally.total += overlap(start, end or until, since, until)
            if end is None:
                tally.open += 1
            elif since <= end < until:
                tally.samples.append((end - start).total_seconds())
        _gate_waits(t, gates, since=since, until=until)
    stage_results = tuple(stages[name].result(name) for name in STAGES)
    gate_results = tuple(
        sorted(
            (tally.result(name) for name, tally in gates.items()),
            key=lambda g: (-g.total_seconds, g.name),
        )
    )
    candidates = [(s.total_seconds, s.name) for s in stage_results if s.name != "gates"]
    candidates += [(g.total_seconds, GATE_PREFIX + g.name) for g in gate_results]
    best = max(candidates, key=lambda c: (c[0], -_rank(c[1])), default=(0.0, ""))
    return Flow(stage_results, gate_results, best[1] if best[0] > 0 else None)


def _rank(name: str) -> int:
    # Ties go to the earlier stage (and stages before gate types): a stable answer.
    return STAGES.index(name) if name in STAGES else len(STAGES)


def _stage_intervals(t: Timeline) -> Iterator[tuple[str, datetime, datetime | None]]:
    """(stage, start, end or None while still in it at the end of the range)."""
    h = t.history
    if h.ready_at is not None and h.ready_at < h.created_at:
        yield "ready", h.ready_at, h.created_at
    yield "queued", h.created_at, t.left_pending_at
    if t.waiting_at is not None:
        yield "gates", t.waiting_at, t.left_waiting_at
    if t.deploying_at is not None:
        yield "deploying", t.deploying_at, t.left_deploying_at
    if t.verifying_at is not None:
        yield "verifying", t.verifying_at, t.left_verifying_at


def _gate_waits(t: Timeline, gates: dict[str, _Tally], *, since: datetime, until: datetime) -> None:
    """Each recorded gate evaluation holds from its time to the next one (or the end of
    Waiting); every gate type that said "wait" in it accumulates that stretch."""
    if t.waiting_at is None:
        return
    start, end = t.waiting_at, t.left_waiting_at
    stop = end or until
    evaluations = [e for e in t.history.gate_evaluations if start <= e.at < stop]
    per_gate: dict[str, float] = defaultdict(float)
    for index, evaluation in enumerate(evaluations):
        nxt = evaluations[index + 1].at if index + 1 < len(evaluations) else stop
        for gate in evaluation.waiting:
            gates[gate].total += overlap(evaluation.at, nxt, since, until)
            per_gate[gate] += (nxt - evaluation.at).total_seconds()
    if end is None:
        if evaluations:
            for gate in evaluations[-1].waiting:
                gates[gate].open += 1
    elif since <= end < until:
        for gate, seconds in per_gate.items():
            gates[gate].samples.append(seconds)
