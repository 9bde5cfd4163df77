"""Insights as a service: DORA metrics and flow over a time range, for the API
(`GET /api/v1/insights`), the CLI (through the API), `/metrics` and the web UI.

Everything comes from the database (promotions, their steps, verifications), so every
replica answers the same, also after a restart. The arithmetic is
`domain.insights.compute_insights`; this module only picks the range, reads the records
and hands over the environments (with their `tier`) of the project in force.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.errors import InvalidError
from shiplane.domain.insights import (
    EnvironmentInfo,
    Insights,
    UpstreamRule,
    compute_insights,
    with_verifications,
)
from shiplane.store import insights as store
from shiplane.store.db import Database

DEFAULT_RANGE = timedelta(days=30)
"""The range when `since` is not given: the 30 days before `until`."""
MAX_RANGE = timedelta(days=366)
"""The longest range one request may cover (it reads every promotion in it)."""


class InsightsRangeError(InvalidError):
    """`since`/`until` do not make a usable range; `field` names the one to fix."""

    def __init__(self, field: str, message: str, hint: str) -> None:
        super().__init__(message, hint=hint, details={"field": field})
        self.field = field


def time_range(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[since, until) in UTC: `until` defaults to now, `since` to 30 days before `until`;
    a time without a zone is UTC."""
    try:
        end = _utc(until) if until is not None else now
        start = _utc(since) if since is not None else end - DEFAULT_RANGE
    except OverflowError:  # year 1 minus 30 days, or an offset past the calendar's edge
        raise InsightsRangeError(
            "since" if since is not None else "until",
            "the range falls outside the calendar (before year 1 or after year 9999)",
            "give times between year 1 and 9999",
        ) from None
    if start >= end:
        raise InsightsRangeError(
            "since",
            f"since ({_iso(start)}) must be earlier than until ({_iso(end)})",
            "give an earlier since, or a later until",
        )
    if end - start > MAX_RANGE:
        raise InsightsRangeError(
            "since",
            f"the range {_iso(start)} .. {_iso(end)} is longer than {MAX_RANGE.days} days",
            f"ask for at most {MAX_RANGE.days} days at a time",
        )
    return start, end


def insights(
    db: Database,
    project: ProjectConfig | None,
    since: datetime | None = None,
    until: datetime | None = None,
    environment: str | None = None,
    app: str | None = None,
    *,
    clock: Clock | None = None,
) -> Insights:
    """DORA metrics and flow per environment and app over [since, until).

    With a project, `environment` and `app` must be defined in it (UnknownNameError with
    the nearest name otherwise); without one (a server without shiplane.yaml) the
    records alone decide, and no environment counts as production."""
    start, end = time_range(since, until, (clock or SystemClock()).now())
    infos: list[EnvironmentInfo] = []
    rules: dict[str, UpstreamRule] = {}
    app_order: list[str] = []
    if project is not None:
        if environment is not None:
            project.require_environment(environment)
        if app is not None:
            project.require_app(app)
        for name in project.environment_order():
            env = project.environments[name]
            infos.append(EnvironmentInfo(name, env.tier))
            rules[name] = (env.after.mode, tuple(env.after.environments))
        app_order = project.app_order()
    with db.session(readonly=True) as s:
        histories = store.promotion_histories(
            s,
            since=start,
            until=end,
            environments=None if environment is None else [environment],
        )
        verifications = store.verifications_of(s, [h.release_id for h in histories])
    return compute_insights(
        with_verifications(histories, verifications, rules),
        since=start,
        until=end,
        environments=infos,
        app_order=app_order,
        environment=environment,
        app=app,
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
