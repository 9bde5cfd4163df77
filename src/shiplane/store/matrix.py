"""The apps x environments matrix: what each environment runs per app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiplane.store.models import Deployment, Release
from shiplane.store.records import MatrixCell

__all__ = ["get_matrix", "record_deployment"]

# Keeps IN lists well under any backend's bound-parameter limit.
_CHUNK = 500


def get_matrix(s: Session, *, apps: Sequence[str], environments: Sequence[str]) -> list[MatrixCell]:
    """One cell per (app, environment), apps outer, both in the given order; release
    fields are None where nothing has been deployed yet."""
    found: dict[tuple[str, str], tuple[Deployment, str | None]] = {}
    env_list = list(dict.fromkeys(environments))
    app_list = list(dict.fromkeys(apps))
    if env_list:
        for start in range(0, len(app_list), _CHUNK):
            chunk = app_list[start : start + _CHUNK]
            query = (
                select(Deployment, Release.alias)
                .outerjoin(Release, Release.id == Deployment.release_id)
                .where(Deployment.app.in_(chunk), Deployment.environment.in_(env_list))
            )
            for deployment, release_alias in s.execute(query):
                found[(deployment.app, deployment.environment)] = (deployment, release_alias)
    cells: list[MatrixCell] = []
    for app in app_list:
        for env in env_list:
            hit = found.get((app, env))
            if hit is None:  # nothing deployed yet
                cells.append(
                    MatrixCell(
                        app=app,
                        environment=env,
                        release_id=None,
                        release_alias=None,
                        git_commit=None,
                        sync_status=None,
                        health=None,
                        health_reason=None,
                        sync_detail=None,
                        updated_at=None,
                    )
                )
            else:
                d, alias_or_none = hit
                cells.append(
                    MatrixCell(
                        app=app,
                        environment=env,
                        release_id=d.release_id,
                        release_alias=alias_or_none,
                        git_commit=d.git_commit,
                        sync_status=d.sync_status,
                        health=d.health,
                        health_reason=d.health_reason,
                        sync_detail=d.sync_detail,
                        updated_at=d.updated_at,
                    )
                )
    return cells


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
