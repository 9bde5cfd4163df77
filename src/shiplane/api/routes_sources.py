"""Artifact sources: what each found, its health and next poll; refresh one now."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.engine import require_engine
from shiplane.api.pagination import PageOut
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.config.models import (
    ChartSourceConfig,
    GitSourceConfig,
    ImageSourceConfig,
    ProjectConfig,
    SourceConfig,
)
from shiplane.domain.roles import Role
from shiplane.engine.service import Engine
from shiplane.store import sources as store
from shiplane.store.records import SourceStateRecord

router = APIRouter(prefix=API_PREFIX, tags=["sources"])
_AUTH_ERRORS = (401, 403)


class SourceOut(BaseModel):
    """A source as configured, and what it found (no credentials: only where they come
    from is configuration, and that is not shown either)."""

    name: str
    kind: str
    watches: str  # the image repository, chart (repository + name) or git URL and ref
    select: str | None  # the selection: `semver >=1 <2`, `digest latest`, `branch main`
    apps: list[str]
    interval: int  # seconds between polls (jittered)
    version: str | None = None
    digest: str | None = None
    artifact: str | None = None
    healthy: bool | None = None  # None: not looked at yet
    reason: str | None = None
    assembly: str | None = None
    checked_at: datetime | None = None
    changed_at: datetime | None = None
    next_poll_at: datetime | None = None
    last_release: str | None = None


def describe(name: str, config: SourceConfig, state: SourceStateRecord | None) -> SourceOut:
    spec = config.spec
    if isinstance(spec, ImageSourceConfig):
        watches, select = spec.repository, " ".join(filter(None, [spec.select, spec.constraint]))
    elif isinstance(spec, ChartSourceConfig):
        watches = f"{spec.repository.rstrip('/')} {spec.name}"
        select = f"semver {spec.constraint}" if spec.constraint else "semver"
    else:
        assert isinstance(spec, GitSourceConfig)
        watches = spec.url
        select = f"tags {spec.tags}" if spec.tags else f"branch {spec.branch or 'main'}"
    out = SourceOut(
        name=name,
        kind=config.kind,
        watches=watches,
        select=select,
        apps=list(config.apps),
        interval=config.interval,
    )
    if state is None:
        return out
    return out.model_copy(
        update=state.model_dump(
            include={
                "version",
                "digest",
                "artifact",
                "healthy",
                "reason",
                "assembly",
                "checked_at",
                "changed_at",
                "next_poll_at",
                "last_release",
            }
        )
    )


def _project(context: ApiContext) -> ProjectConfig | None:
    return context.current_project


def _require_source(project: ProjectConfig | None, name: str) -> SourceConfig:
    config = project.sources.get(name) if project is not None else None
    if config is None:
        known = ", ".join(sorted(project.sources if project else ())) or "none are defined"
        raise ProblemError(404, f"source {name!r} is not defined (sources: {known})")
    return config


@router.get(
    "/sources",
    summary="List artifact sources with what each found, its health and next poll",
    responses=problem_openapi_responses(*_AUTH_ERRORS),
)
def list_sources(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PageOut[SourceOut]:
    # One page: sources are few (they are written in shiplane.yaml).
    project = _project(context)
    if project is None:
        return PageOut[SourceOut](items=[], next_cursor=None)
    with context.database.session(readonly=True) as s:
        states = store.list_states(s, project.sources)
    items = [describe(n, c, states.get(n)) for n, c in sorted(project.sources.items())]
    return PageOut[SourceOut](items=items, next_cursor=None)


@router.get(
    "/sources/{name}",
    summary="Show one artifact source",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 404),
)
def show_source(
    name: str,
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> SourceOut:
    project = _project(context)
    config = _require_source(project, name)
    with context.database.session(readonly=True) as s:
        state = store.get_state(s, name)
    return describe(name, config, state)


@router.post(
    "/sources/{name}/refresh",
    summary="Look at a source now (merged with a look under way) and answer what it found",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 404, 409),
)
async def refresh_source(
    name: str,
    principal: Principal = Depends(require_role(Role.PROMOTER)),
    engine: Engine = Depends(require_engine),
) -> SourceOut:
    config = _require_source(engine.project, name)
    state = await engine.sources.refresh_and_wait(name, reason=f"api:{principal.name}")
    return describe(name, config, state)
