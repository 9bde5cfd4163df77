"""The four DORA metrics over promotion timelines (docs/insights.md has the definitions in
words; this module is them in code). Pure, no I/O.

Every count is decided by a time inside [since, until): a deployment by its
verification, a lead time by the verification, a change failure by the deploy, an
incident by its start. Rollback promotions are not changes: they count as `rollbacks`,
and as restores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shiplane.domain.insights.history import Timeline
from shiplane.domain.insights.stats import Percentiles
from shiplane.domain.promotion import PromotionState

S = PromotionState
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Dora:
    deployments: int
    """Normal promotions verified (Succeeded) in the range."""
    deployments_per_day: float
    deployments_per_week: float
    rollbacks: int
    """Rollback promotions verified in the range (not counted as deployments)."""
    lead_time: Percentiles
    """Release created -> verified here, for releases verified here for the first time."""
    changes_deployed: int
    """Normal promotions that deployed in the range and whose outcome was known by its end."""
    change_failures: int
    """Of those: failed after deploying, or rolled back (automatically or by hand)."""
    change_failure_rate: float | None
    """change_failures / changes_deployed; None when nothing deployed."""
    time_to_restore: Percentiles
    """Failure -> the next verified promotion of that environment and app."""
    unrestored: int
    """Failures in the range not restored by its end (not in time_to_restore)."""


@dataclass(frozen=True, slots=True)
class Incident:
    """An (environment, app) failing from `started_at` until `restored_at` (None: not by
    the end of the range). `cause` is the promotion that failed or was rolled back (or a
    manual rollback whose undone promotion is not in view)."""

    environment: str
    app: str
    cause: str
    started_at: datetime
    restored_at: datetime | None


@dataclass(frozen=True, slots=True)
class Failures:
    """Failures of a set of timelines: the incidents, and the promotions rolled back by
    hand (promotion id -> when the rollback was requested)."""

    incidents: tuple[Incident, ...]
    rolled_back_by_hand: dict[str, datetime]


def find_failures(timelines: Sequence[Timeline], until: datetime) -> Failures:
    """Walk each (environment, app) in time order: a failure (a normal promotion failing
    after it deployed, or a manual rollback) starts an incident unless one is open; the
    next verified promotion (of any kind) restores it."""
    by_key: dict[tuple[str, str], list[Timeline]] = defaultdict(list)
    for t in timelines:
        for app in t.history.apps:
            by_key[(t.history.environment, app)].append(t)
    incidents: list[Incident] = []
    by_hand: dict[str, datetime] = {}
    for (environment, app), items in by_key.items():
        # (time, order, kind, promotion id, cause); failures sort before restores at a tie.
        events: list[tuple[datetime, int, str, str, str]] = []
        for t in items:
            h = t.history
            if h.kind == "normal" and t.failed_after_deploy and t.failed_at is not None:
                events.append((t.failed_at, 0, "failure", h.id, h.id))
            withdrawn = t.state is S.ABORTED and t.deployed_at is None
            if h.kind == "rollback" and h.rollback_of is None and not withdrawn:
                undone = _running_at((x for x in items if x is not t), h.created_at)
                cause = h.id
                if undone is not None and undone.is_normal:
                    cause = undone.history.id
                    if undone.succeeded_at is not None:
                        seen = by_hand.get(cause)
                        by_hand[cause] = min(seen, h.created_at) if seen else h.created_at
                events.append((h.created_at, 0, "failure", h.id, cause))
            if t.succeeded_at is not None:
                events.append((t.succeeded_at, 1, "restore", h.id, h.id))
        events.sort(key=lambda e: (e[0], e[1]))
        open_: tuple[datetime, str] | None = None
        for at, _order, kind, promotion_id, cause in events:
            if kind == "failure":
                if open_ is None:
                    open_ = (at, cause)
            elif open_ is not None and promotion_id != open_[1]:
                incidents.append(Incident(environment, app, open_[1], open_[0], at))
                open_ = None
        if open_ is not None:
            incidents.append(Incident(environment, app, open_[1], open_[0], None))
    incidents.sort(key=lambda i: (i.started_at, i.environment, i.app))
    return Failures(tuple(incidents), by_hand)


def _running_at(items: Iterable[Timeline], moment: datetime) -> Timeline | None:
    """The promotion whose deploy was the latest at or before `moment`."""
    deployed = [t for t in items if t.deployed_at is not None and t.deployed_at <= moment]
    return max(deployed, key=lambda t: t.deployed_at or moment, default=None)


def dora(
    timelines: Sequence[Timeline],
    incidents: Sequence[Incident],
    failures: Failures,
    *,
    since: datetime,
    until: datetime,
    first_verified: set[str],
) -> Dora:
    """The metrics of `timelines` (already narrowed to a scope) and its `incidents`
    (grouped one per failure: an incident spanning several apps counts once, restored
    when its last app is). `first_verified`: ids of promotions that verified their
    release here first (for the apps in scope)."""
    in_range = _in(since, until)
    deployed = [t for t in timelines if t.is_normal and in_range(t.succeeded_at)]
    rollbacks = [t for t in timelines if not t.is_normal and in_range(t.succeeded_at)]
    lead = [
        (t.succeeded_at - t.history.release_created_at).total_seconds()
        for t in deployed
        if t.history.id in first_verified and t.succeeded_at is not None
    ]
    changes = failed = 0
    for t in timelines:
        if not t.is_normal or not in_range(t.deployed_at):
            continue
        rolled_back = t.history.id in failures.rolled_back_by_hand
        if t.failed_after_deploy or rolled_back:
            changes += 1
            failed += 1
        elif t.state in (S.SUCCEEDED, S.ABORTED):
            changes += 1  # Deploying/Verifying at the end: the outcome is not known yet
    restore = [
        (i.restored_at - i.started_at).total_seconds()
        for i in incidents
        if in_range(i.started_at) and i.restored_at is not None
    ]
    unrestored = sum(1 for i in incidents if in_range(i.started_at) and i.restored_at is None)
    days = (until - since).total_seconds() / SECONDS_PER_DAY
    per_day = len(deployed) / days if days > 0 else 0.0
    return Dora(
        deployments=len(deployed),
        deployments_per_day=per_day,
        deployments_per_week=per_day * 7,
        rollbacks=len(rollbacks),
        lead_time=Percentiles.of([max(s, 0.0) for s in lead]),
        changes_deployed=changes,
        change_failures=failed,
        change_failure_rate=failed / changes if changes else None,
        time_to_restore=Percentiles.of(restore),
        unrestored=unrestored,
    )


def merge_incidents(incidents: Iterable[Incident]) -> list[Incident]:
    """One incident per (environment, cause): a release train failing in three apps is
    one failure, restored when its last app is (never, when any app is not)."""
    merged: dict[tuple[str, str], Incident] = {}
    for i in incidents:
        key = (i.environment, i.cause)
        seen = merged.get(key)
        if seen is None:
            merged[key] = Incident(i.environment, "", i.cause, i.started_at, i.restored_at)
            continue
        restored = (
            None
            if seen.restored_at is None or i.restored_at is None
            else max(seen.restored_at, i.restored_at)
        )
        merged[key] = Incident(
            i.environment, "", i.cause, min(seen.started_at, i.started_at), restored
        )
    return list(merged.values())


def _in(since: datetime, until: datetime) -> Callable[[datetime | None], bool]:
    def check(moment: datetime | None) -> bool:
        return moment is not None and since <= moment < until

    return check
