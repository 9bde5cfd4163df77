"""The insights report: DORA metrics and flow per environment, per app in each
environment, and for the project's production environments together. Pure, no I/O.

`compute_insights` is the one entry point; the engine gathers the promotion histories
from the store and hands them here with the environments (and their tiers) in force.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shiplane.domain.clock import ensure_utc
from shiplane.domain.insights.dora import (
    SECONDS_PER_DAY,
    Dora,
    Failures,
    Incident,
    dora,
    find_failures,
    merge_incidents,
)
from shiplane.domain.insights.flow import Flow, flow
from shiplane.domain.insights.history import PromotionHistory, Timeline

PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class EnvironmentInfo:
    name: str
    tier: str | None
    """None for an environment found only in the records (no longer configured)."""


@dataclass(frozen=True, slots=True)
class AppInsights:
    app: str
    dora: Dora
    flow: Flow


@dataclass(frozen=True, slots=True)
class EnvironmentInsights:
    environment: str
    tier: str | None
    dora: Dora
    flow: Flow
    apps: tuple[AppInsights, ...]
    """Apps with at least one promotion in view, in the project's order."""


@dataclass(frozen=True, slots=True)
class ProductionInsights:
    """The `tier: production` environments together: the project's DORA figures."""

    environments: tuple[str, ...]
    dora: Dora
    flow: Flow
    apps: tuple[AppInsights, ...]


@dataclass(frozen=True, slots=True)
class Insights:
    since: datetime
    until: datetime
    days: float
    environment: str | None
    """The environment filter, if any."""
    app: str | None
    """The app filter, if any."""
    production: ProductionInsights | None
    """None when no environment in view has `tier: production`."""
    environments: tuple[EnvironmentInsights, ...]


def compute_insights(
    histories: Iterable[PromotionHistory],
    *,
    since: datetime,
    until: datetime,
    environments: Sequence[EnvironmentInfo],
    app_order: Sequence[str] = (),
    environment: str | None = None,
    app: str | None = None,
) -> Insights:
    """Everything in [since, until). `histories` may hold more than the range needs
    (promotions that ended before it, moves after it): each is read as it stood at
    `until`, and only times inside the range count."""
    since, until = ensure_utc(since), ensure_utc(until)
    if since >= until:
        raise ValueError("since must be earlier than until")
    timelines = [Timeline.at(h, until) for h in histories if h.created_at < until]
    failures = find_failures(timelines, until)  # over every app: rollbacks need context
    if app is not None:
        timelines = [t for t in timelines if app in t.history.apps]
    infos = _environments_in_view(environments, timelines, environment)
    order = {name: i for i, name in enumerate(app_order)}
    scope = _Scope(since, until, failures, app)

    rows = []
    for info in infos:
        mine = [t for t in timelines if t.history.environment == info.name]
        rows.append(
            EnvironmentInsights(
                info.name,
                info.tier,
                *scope.measure(mine, {info.name}),
                apps=scope.per_app(mine, {info.name}, order),
            )
        )
    production = None
    prod_envs = tuple(i.name for i in infos if i.tier == PRODUCTION)
    if prod_envs:
        mine = [t for t in timelines if t.history.environment in prod_envs]
        production = ProductionInsights(
            prod_envs,
            *scope.measure(mine, set(prod_envs)),
            scope.per_app(mine, set(prod_envs), order),
        )
    days = (until - since).total_seconds() / SECONDS_PER_DAY
    return Insights(since, until, days, environment, app, production, tuple(rows))


def _environments_in_view(
    configured: Sequence[EnvironmentInfo], timelines: Sequence[Timeline], only: str | None
) -> list[EnvironmentInfo]:
    """The configured environments in their order, then environments found only in the
    records (by name); just `only` when filtering."""
    infos = list(configured)
    known = {i.name for i in infos}
    infos += [
        EnvironmentInfo(name, None)
        for name in sorted({t.history.environment for t in timelines} - known)
    ]
    if only is not None:
        infos = [i for i in infos if i.name == only] or [EnvironmentInfo(only, None)]
    return infos


class _Scope:
    """Measures a set of timelines; incidents are grouped once by (environment, app)."""

    def __init__(
        self, since: datetime, until: datetime, failures: Failures, app: str | None
    ) -> None:
        self.since = since
        self.until = until
        self.failures = failures
        self.app = app
        self.incidents: dict[tuple[str, str], list[Incident]] = defaultdict(list)
        for incident in failures.incidents:
            self.incidents[(incident.environment, incident.app)].append(incident)

    def measure(
        self, timelines: Sequence[Timeline], environments: set[str], app: str | None = None
    ) -> tuple[Dora, Flow]:
        """DORA and flow of `timelines` for `app` (None: the app filter, if any)."""
        app = app or self.app
        # One failure of a release train counts once (restored when its last app is).
        incidents = merge_incidents(
            i
            for (environment, incident_app), found in self.incidents.items()
            if environment in environments and (app is None or incident_app == app)
            for i in found
        )
        first = {
            t.history.id
            for t in timelines
            if (app in t.history.first_verification_of if app else t.history.first_verification_of)
        }
        metrics = dora(
            timelines,
            incidents,
            self.failures,
            since=self.since,
            until=self.until,
            first_verified=first,
        )
        return metrics, flow(timelines, since=self.since, until=self.until)

    def per_app(
        self, timelines: Sequence[Timeline], environments: set[str], order: dict[str, int]
    ) -> tuple[AppInsights, ...]:
        by_app: dict[str, list[Timeline]] = defaultdict(list)
        for t in timelines:
            for name in t.history.apps:
                if self.app is None or name == self.app:
                    by_app[name].append(t)
        return tuple(
            AppInsights(name, *self.measure(by_app[name], environments, name))
            for name in sorted(by_app, key=lambda a: (order.get(a, len(order)), a))
        )
