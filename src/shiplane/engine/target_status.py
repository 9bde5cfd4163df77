"""Sync and health of the apps of hand-off environments (`deploy.via: flux`), from their
deploy target instead of Shiplane's own watch (docs/handoff.md).

Shiplane does not apply in such an environment, so it has no desired objects to compare
live ones with; the agent does, and says so in its own status. On every heartbeat the
replica that watches a cluster asks the target about each deployed app of its hand-off
environments (at the commit Shiplane last deployed there) and writes what it says:
Synced/OutOfSync, the health, and the agent's reason. Unchanged values write nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.deploy.handoff import target_context
from shiplane.store import deploys
from shiplane.store.db import Database
from shiplane.targets import (
    TARGETS,
    ContainsCommit,
    TargetStatus,
    TargetUnavailableError,
)

log = structlog.get_logger(__name__)

Guard = Callable[[Any, str], None]
"""(session, environment): raises when this replica no longer watches its cluster."""


async def refresh(
    db: Database,
    project: ProjectConfig,
    handle: ClusterHandle,
    environments: list[str],
    *,
    clock: Clock,
    contains: ContainsCommit,
    guard: Guard,
) -> None:
    """Write what the target says about every deployed app of `environments`."""
    if not environments:
        return

    def commits() -> dict[tuple[str, str], str]:
        with db.session(readonly=True) as s:
            return deploys.deployed_commits(s, environments)

    for (environment, app), commit in (await asyncio.to_thread(commits)).items():
        env = project.environments.get(environment)
        if env is None or app not in project.apps:
            continue
        target = TARGETS.get(env.deploy.via).plugin
        ctx = target_context(environment, env, handle.client, clock, contains)
        try:
            status = await target.observe(ctx, app, commit)
        except (TargetUnavailableError, OSError) as exc:
            log.warning("target.status_failed", environment=environment, app=app, error=str(exc))
            continue

        def write(
            environment: str = environment, app: str = app, status: TargetStatus = status
        ) -> None:
            with db.session() as s:
                guard(s, environment)
                deploys.update_deployment(
                    s,
                    environment=environment,
                    app=app,
                    sync_status=status.sync,
                    health=status.health.value,
                    health_reason=status.summary,
                    create=False,
                    now=clock.now,
                )

        await asyncio.to_thread(write)
