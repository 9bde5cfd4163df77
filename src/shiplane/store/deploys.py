"""Deploy runs (history), inventories (what prune compares) and deployment status.

Writes that would not change anything are skipped, so steady-state syncs and health
polls cause no churn in the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shiplane.store.keyset import Keyset, keyset_page
from shiplane.store.models import Deployment, DeployRun, Inventory
from shiplane.store.records import DeploymentRecord, DeployRunRecord, DeployStep, Page

__all__ = [
    "finish_run",
    "forget_app",
    "get_inventory",
    "get_run",
    "inventories_in",
    "inventory_apps",
    "list_runs",
    "mark_orphaned",
    "new_run_id",
    "orphaned_in",
    "record_step",
    "save_inventory",
    "start_run",
    "update_deployment",
]

Now = Callable[[], datetime]
"""Where a store function reads the time (an engine passes its `Clock.now`)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_id(prefix: str = "dep") -> str:
    """Sortable-enough, unique id: time in hex plus randomness."""
    return f"{prefix}-{int(datetime.now(UTC).timestamp() * 1000):012x}{secrets.token_hex(6)}"


def start_run(
    s: Session,
    *,
    group_id: str,
    environment: str,
    app: str,
    kind: str,
    release_id: str | None,
    actor: str,
    run_id: str | None = None,
    replica: str | None = None,
    now: Now = _utcnow,
) -> DeployRunRecord:
    row = DeployRun(
        id=run_id or new_run_id(),
        group_id=group_id,
        environment=environment,
        app=app,
        kind=kind,
        status="running",
        release_id=release_id,
        git_commit=None,
        actor=actor,
        steps=[],
        error=None,
        started_at=now(),
        finished_at=None,
        replica=replica,
    )
    s.add(row)
    s.flush()
    return _to_record(row)


def record_step(
    s: Session,
    run_id: str,
    *,
    name: str,
    outcome: str,
    started_at: datetime,
    detail: str | None = None,
    now: Now = _utcnow,
) -> None:
    """Append (or finish) a step; a step of the same name still `running` is replaced."""
    row = s.get(DeployRun, run_id)
    if row is None:
        raise KeyError(run_id)
    steps = [dict(step) for step in row.steps]
    entry = {
        "name": name,
        "outcome": outcome,
        "started_at": started_at.isoformat(),
        "finished_at": None if outcome == "running" else now().isoformat(),
        "detail": detail,
    }
    if steps and steps[-1]["name"] == name and steps[-1]["outcome"] == "running":
        steps[-1] = entry
    else:
        steps.append(entry)
    row.steps = steps  # reassign: JSON columns do not track in-place mutation
    s.flush()


def finish_run(
    s: Session,
    run_id: str,
    *,
    status: str,
    git_commit: str | None = None,
    error: str | None = None,
    now: Now = _utcnow,
) -> None:
    row = s.get(DeployRun, run_id)
    if row is None:
        raise KeyError(run_id)
    row.status = status
    if git_commit is not None:
        row.git_commit = git_commit
    row.error = error
    row.finished_at = now()
    s.flush()


def group_has_runs(s: Session, group_id: str) -> bool:
    """Whether any run of `group_id` was recorded (a deploy that ran before)."""
    found = s.execute(select(DeployRun.id).where(DeployRun.group_id == group_id).limit(1))
    return found.first() is not None


def interrupt_running_runs(
    s: Session,
    *,
    reason: str,
    environment: str | None = None,
    apps: list[str] | None = None,
    now: Now = _utcnow,
) -> int:
    """Mark runs still `running` (in `environment` and of `apps`, or anywhere) as
    `interrupted`: their process died; the count."""
    query = select(DeployRun).where(DeployRun.status == "running")
    if environment is not None:
        query = query.where(DeployRun.environment == environment)
    if apps is not None:
        query = query.where(DeployRun.app.in_(apps))
    rows = list(s.scalars(query))
    for row in rows:
        row.status = "interrupted"
        row.error = reason
        row.finished_at = now()
    s.flush()
    return len(rows)


def get_run(s: Session, run_id: str) -> DeployRunRecord | None:
    row = s.get(DeployRun, run_id)
    return None if row is None else _to_record(row)


def list_runs(
    s: Session,
    *,
    environment: str | None = None,
    app: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeployRunRecord]:
    """Deploy runs newest first, keyset-paginated on (started_at, id)."""
    query = select(DeployRun)
    if environment is not None:
        query = query.where(DeployRun.environment == environment)
    if app is not None:
        query = query.where(DeployRun.app == app)
    rows, next_cursor = keyset_page(s, query, _KEYSET, cursor=cursor, limit=limit)
    return Page[DeployRunRecord](items=[_to_record(r) for r in rows], next_cursor=next_cursor)


def running_in(s: Session, environment: str) -> dict[str, str | None]:
    """app -> the release it runs in `environment` (None: synced from git, unpinned), for
    every app that has been deployed there and is still part of it (not orphaned)."""
    query = select(Deployment.app, Deployment.release_id).where(
        Deployment.environment == environment, Deployment.orphaned.is_(None)
    )
    return {app: release for app, release in s.execute(query)}


def deployed_commits(s: Session, environments: list[str]) -> dict[tuple[str, str], str]:
    """(environment, app) -> the git commit last applied there, for `environments`; not
    for orphaned apps, which git no longer describes."""
    query = select(Deployment.environment, Deployment.app, Deployment.git_commit).where(
        Deployment.environment.in_(environments),
        Deployment.git_commit.is_not(None),
        Deployment.orphaned.is_(None),
    )
    return {(env, app): str(commit) for env, app, commit in s.execute(query)}


def get_inventory(s: Session, environment: str, app: str) -> list[dict[str, str]] | None:
    row = s.get(Inventory, (environment, app))
    return None if row is None else [dict(o) for o in row.objects]


def inventory_apps(s: Session, environment: str) -> list[str]:
    """The apps with an inventory in `environment` (names only: no objects are read)."""
    query = select(Inventory.app).where(Inventory.environment == environment)
    return sorted(s.scalars(query))


def inventories_in(s: Session, environment: str) -> dict[str, list[dict[str, str]]]:
    """app -> its inventory, for every app with one in `environment`."""
    query = select(Inventory.app, Inventory.objects).where(Inventory.environment == environment)
    return {app: [dict(o) for o in objects or []] for app, objects in s.execute(query)}


def orphaned_in(s: Session, environment: str) -> dict[str, str]:
    """app -> why it is orphaned, for the orphaned apps of `environment`."""
    query = select(Deployment.app, Deployment.orphaned).where(
        Deployment.environment == environment, Deployment.orphaned.is_not(None)
    )
    return {app: str(reason) for app, reason in s.execute(query)}


def mark_orphaned(
    s: Session, environment: str, app: str, reason: str, *, now: Now = _utcnow
) -> None:
    """Show (environment, app) as orphaned: removed from git, its objects still there."""
    update_deployment(
        s, environment=environment, app=app, orphaned=reason, sync_status="Orphaned", now=now
    )


def forget_app(s: Session, environment: str, app: str) -> None:
    """(environment, app) is no longer deployed: drop its inventory and its matrix row
    (its run history stays)."""
    s.execute(delete(Inventory).where(Inventory.environment == environment, Inventory.app == app))
    s.execute(
        delete(Deployment).where(Deployment.environment == environment, Deployment.app == app)
    )
    s.flush()


def save_inventory(
    s: Session,
    environment: str,
    app: str,
    objects: list[dict[str, str]],
    *,
    git_commit: str | None,
    now: Now = _utcnow,
) -> None:
    row = s.get(Inventory, (environment, app))
    if row is None:
        s.add(
            Inventory(
                environment=environment,
                app=app,
                objects=objects,
                git_commit=git_commit,
                updated_at=now(),
            )
        )
    elif row.objects != objects or row.git_commit != git_commit:
        row.objects = objects
        row.git_commit = git_commit
        row.updated_at = now()
    s.flush()


_UNSET: Any = object()


def update_deployment(
    s: Session,
    *,
    environment: str,
    app: str,
    release_id: str | None = _UNSET,
    git_commit: str | None = _UNSET,
    sync_status: str | None = _UNSET,
    sync_detail: Any = _UNSET,
    health: str | None = _UNSET,
    health_reason: str | None = _UNSET,
    orphaned: str | None = _UNSET,
    create: bool = True,
    now: Now = _utcnow,
) -> bool:
    """Set only the given fields of what (environment, app) runs; True when a value
    changed. Unchanged values write nothing (no status churn). Without `create`, an
    (environment, app) with no row (never deployed, or removed) is left alone."""
    row = s.scalar(
        select(Deployment).where(Deployment.environment == environment, Deployment.app == app)
    )
    if row is None:
        if not create:
            return False
        row = Deployment(environment=environment, app=app, updated_at=now())
        s.add(row)
    changed = False
    for field, value in (
        ("release_id", release_id),
        ("git_commit", git_commit),
        ("sync_status", sync_status),
        ("sync_detail", sync_detail),
        ("health", health),
        ("health_reason", health_reason),
        ("orphaned", orphaned),
    ):
        if value is not _UNSET and getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    if changed:
        row.updated_at = now()
    s.flush()
    return changed


def _to_record(row: DeployRun) -> DeployRunRecord:
    return DeployRunRecord(
        id=row.id,
        group_id=row.group_id,
        environment=row.environment,
        app=row.app,
        kind=row.kind,
        status=row.status,
        release_id=row.release_id,
        git_commit=row.git_commit,
        actor=row.actor,
        steps=[DeployStep.model_validate(step) for step in row.steps],
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        replica=row.replica,
    )


_KEYSET = Keyset("deploy_runs", (DeployRun.started_at, DeployRun.id), (datetime, str))
"""Newest first; the cursor kind keeps a cursor from being replayed on another listing."""


def where_release_runs(s: Session, release_id: str) -> list[DeploymentRecord]:
    """Every (environment, app) that runs `release_id` now, with its health and sync."""
    query = (
        select(Deployment)
        .where(Deployment.release_id == release_id, Deployment.orphaned.is_(None))
        .order_by(Deployment.environment, Deployment.app)
    )
    return [
        DeploymentRecord(
            environment=row.environment,
            app=row.app,
            release_id=row.release_id,
            git_commit=row.git_commit,
            sync_status=row.sync_status,
            health=row.health,
            updated_at=row.updated_at,
        )
        for row in s.scalars(query)
    ]
