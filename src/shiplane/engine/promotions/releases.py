"""A new release: stored with its audit event and, with an engine, its root
auto-promotions, all in one transaction.

So no crash can leave a release stored whose auto-promotions were never created (the
auto-promotion sweep of `auto.py` repairs releases that arrived some other way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from shiplane.domain.release_contents import parse_contents
from shiplane.domain.releases import parse_artifacts
from shiplane.engine.faults import fault_point
from shiplane.engine.promotions.auto import auto_promote_roots, root_environments
from shiplane.engine.promotions.runtime import Runtime
from shiplane.store import audit, releases
from shiplane.store import promotions as store
from shiplane.store.records import ReleaseRecord

if TYPE_CHECKING:
    from shiplane.config.models import ProjectConfig


def record_release(
    s: Session,
    *,
    artifacts: Mapping[str, str],
    alias: str | None,
    labels: Mapping[str, str],
    creator: str,
    project: ProjectConfig | None = None,
    charts: Mapping[str, str] | None = None,
    commits: Mapping[str, str] | None = None,
) -> tuple[ReleaseRecord, bool]:
    """Store a release, or find the one with the same contents; a new one is audited.
    True when it is new. AliasConflictError, ReleaseValidationError as the store raises;
    with a project, ReleaseMisfitError for an app or image that does not fit it."""
    if project is not None:
        # Syntax first (the store's reasons are the most precise), then the fit.
        parsed = parse_artifacts(artifacts)
        parse_contents({a.app for a in parsed}, charts, commits)
        project.require_release_fits(artifacts, charts)
    record, created = releases.create_release(
        s,
        artifacts=artifacts,
        alias=alias,
        labels=labels,
        creator=creator,
        charts=charts,
        commits=commits,
    )
    if created:
        audit.append_event(
            s,
            actor=creator,
            action="release.create",
            subject=record.id,
            # A one-app release is about that app, so `audit list --app` finds it.
            app=record.artifacts[0].app if len(record.artifacts) == 1 else None,
            details={
                "alias": record.alias,
                "artifacts": {a.app: a.ref for a in record.artifacts},
                **({"charts": record.charts} if record.charts else {}),
                **({"commits": record.commits} if record.commits else {}),
                "labels": record.labels,
            },
        )
    return record, created


def create_release(
    rt: Runtime,
    s: Session,
    *,
    artifacts: Mapping[str, str],
    alias: str | None,
    labels: Mapping[str, str],
    creator: str,
    charts: Mapping[str, str] | None = None,
    commits: Mapping[str, str] | None = None,
) -> tuple[ReleaseRecord, bool]:
    """`record_release`, then the new release's promotions into every root environment
    that auto-promotes, in the caller's transaction."""
    # Queue locks before the audit lock, the order every writer follows.
    store.lock_queues(s, root_environments(rt))
    record, created = record_release(
        s,
        artifacts=artifacts,
        alias=alias,
        labels=labels,
        creator=creator,
        project=rt.project,
        charts=charts,
        commits=commits,
    )
    if created:
        fault_point("release.stored")  # nothing is committed yet: all or nothing
        auto_promote_roots(rt, s, record.id)
    return record, created
