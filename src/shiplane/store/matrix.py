"""The apps x environments matrix: what each environment runs per app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from shiplane.store.models import Deployment, Release, ReleaseArtifact
from shiplane.store.records import MatrixCell

__all__ = ["get_matrix", "list_orphans", "record_deployment"]

ORPHANED = "Orphaned"
"""The sync status of an orphaned cell: git no longer wants what runs there."""

_EMPTY: dict[str, Any] = dict.fromkeys(
    (
        "release_id",
        "release_alias",
        "git_commit",
        "sync_status",
        "health",
        "health_reason",
        "sync_detail",
        "updated_at",
        "orphaned_reason",
    )
) | {"orphaned": False, "unresolved": False}


def get_matrix(s: Session, *, apps: Sequence[str], environments: Sequence[str]) -> list[MatrixCell]:
    """One cell per (app, environment), apps outer, both in the given order; release
    fields are None where nothing has been deployed yet."""
    rows = get_matrix_rows(s, apps=apps, environments=environments)
    return [MatrixCell.model_construct(**row) for row in rows]


def get_matrix_rows(
    s: Session, *, apps: Sequence[str], environments: Sequence[str]
) -> list[dict[str, Any]]:
    """The cells of `get_matrix` as plain dicts (the API serialises them directly)."""
    # Plain columns, not ORM entities, and no re-validation of trusted rows: building
    # 5,000 ORM objects and validated models dominated the matrix request (bench/matrix.py).
    found: dict[tuple[str, str], dict[str, Any]] = {}
    env_list = list(dict.fromkeys(environments))
    app_list = list(dict.fromkeys(apps))
    columns = (
        Deployment.app,
        Deployment.environment,
        Deployment.release_id,
        Release.alias.label("release_alias"),
        Deployment.git_commit,
        Deployment.sync_status,
        Deployment.health,
        Deployment.health_reason,
        Deployment.sync_detail,
        Deployment.updated_at,
        Deployment.orphaned.label("orphaned_reason"),
        # The app's artifact in that release has no digest: it deploys a mutable tag
        # (`releases.digests: prefer` or `off`), marked wherever the release is shown.
        and_(
            ReleaseArtifact.app.is_not(None),
            ReleaseArtifact.digest.is_(None),
            ReleaseArtifact.resolved_digest.is_(None),
        ).label("unresolved"),
    )
    if env_list and app_list:
        # One query by environment (a handful of bound parameters) and a set lookup per
        # row: faster than IN lists of thousands of apps, and rows of apps the project no
        # longer lists are simply skipped.
        wanted = set(app_list)
        query = (
            select(*columns)
            .outerjoin(Release, Release.id == Deployment.release_id)
            .outerjoin(
                ReleaseArtifact,
                and_(
                    ReleaseArtifact.release_id == Deployment.release_id,
                    ReleaseArtifact.app == Deployment.app,
                ),
            )
            .where(Deployment.environment.in_(env_list))
        )
        names = [c.key for c in columns]
        for row in s.execute(query):
            if row[0] in wanted:
                cell = dict(zip(names, row, strict=True))
                cell["orphaned"] = cell["orphaned_reason"] is not None
                cell["unresolved"] = bool(cell["unresolved"])
                if cell["orphaned"]:  # never "Synced": git no longer wants it
                    cell["sync_status"] = ORPHANED
                found[(row[0], row[1])] = cell
    return [
        found.get((app, env)) or {"app": app, "environment": env, **_EMPTY}
        for app in app_list
        for env in env_list
    ]


def list_orphans(s: Session, *, environments: Sequence[str]) -> list[dict[str, Any]]:
    """Every orphaned (environment, app) of `environments`, apps no longer defined in
    shiplane.yaml included (they have no cell), by environment then app."""
    query = (
        select(Deployment.environment, Deployment.app, Deployment.orphaned)
        .where(Deployment.environment.in_(list(environments)), Deployment.orphaned.is_not(None))
        .order_by(Deployment.environment, Deployment.app)
    )
    return [{"environment": e, "app": a, "reason": r} for e, a, r in s.execute(query)]


def record_deployment(
    s: Session,
    *,
    environment: str,
    app: str,
    release_id: str | None,
    git_commit: str | None = None,
    sync_status: str | None = None,
    health: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Upsert what (environment, app) runs now. Used by the engine (later issues)."""
    row = s.scalar(
        select(Deployment).where(Deployment.environment == environment, Deployment.app == app)
    )
    if row is None:
        row = Deployment(environment=environment, app=app)
        s.add(row)
    row.release_id = release_id
    row.git_commit = git_commit
    row.sync_status = sync_status
    row.health = health
    row.updated_at = now()
    s.flush()
