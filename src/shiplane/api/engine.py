"""Creating the engine for a server that has a GitOps repository configured."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends

from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import ProblemError
from shiplane.api.settings import ApiSettings, default_data_dir
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.service import Engine, EngineSettings
from shiplane.store.db import Database


def start_engine(settings: ApiSettings, db: Database) -> Engine | None:
    if settings.repo_url is None or settings.project is None:
        return None
    base = settings.config_path.parent if settings.config_path is not None else Path.cwd()
    source = ProjectSource(
        settings.project,
        commit=settings.config_commit,
        base_dir=base,
        following=settings.config_commit is not None,
    )
    return Engine(
        db,
        source,
        EngineSettings(
            repo_url=settings.repo_url,
            branch=settings.repo_branch,
            cache_dir=settings.git_cache_dir or default_data_dir() / "git",
            base_dir=base,
            health_timeout=settings.health_timeout,
            lease_ttl=settings.lease_ttl,
            replica_id=settings.replica_id,
            public_url=settings.public_url,
            git_poll=settings.git_poll,
        ),
    )


NO_ENGINE = (
    "this server has no GitOps repository: start it with "
    "`shiplane serve --repo URL` (or SHIPLANE_REPO) to deploy, sync and diff"
)


def require_engine(context: ApiContext = Depends(get_context)) -> Engine:
    engine = context.engine
    if not isinstance(engine, Engine):
        raise ProblemError(409, NO_ENGINE)
    return engine
