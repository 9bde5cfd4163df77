"""Reads made for people (the web UI's views, also here for any client): the laid-out
environment graph, the approvals inbox, a release's timeline, a release-vs-release
diff, and the promote preview (gates + manifest diff, nothing created). Each answer is
one engine service (docs/architecture.md, "Services for the UI")."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.engine import require_engine
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.config.models import ProjectConfig
from shiplane.domain.roles import Role
from shiplane.engine.environment_graph import environment_layout, layout_json
from shiplane.engine.promotion_preview import preview_promotion
from shiplane.engine.promotions.inbox import approvals_inbox
from shiplane.engine.release_views import artifact_changes, get_release_or_404, release_timeline
from shiplane.engine.service import Engine
from shiplane.store.records import ReleaseRecord

router = APIRouter(prefix=API_PREFIX, tags=["views"])


def _project(context: ApiContext) -> ProjectConfig:
    project = context.current_project
    if project is None:
        raise ProblemError(
            409, "this server has no project: start it with `shiplane serve --config FILE`"
        )
    return project


@router.get(
    "/environments/graph",
    summary="The environment graph laid out for drawing (layers, positions, edge paths)",
    responses=problem_openapi_responses(401, 403, 409),
)
async def environment_graph(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> dict[str, Any]:
    return layout_json(environment_layout(_project(context)))


@router.get(
    "/approvals/inbox",
    summary="Promotions waiting for the caller's approval, with expiry",
    responses=problem_openapi_responses(401, 403, 409),
)
async def approvals(
    principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> dict[str, Any]:
    project, now, caller = _project(context), context.now(), principal.caller()

    def read() -> dict[str, Any]:
        with context.database.session(readonly=True) as s:
            items = approvals_inbox(project, s, caller, now)
        return {"items": [i.to_json() for i in items]}

    return await asyncio.to_thread(read)


@router.get(
    "/releases/{ref}/timeline",
    summary="Where a release runs and its promotions across environments, with times",
    responses=problem_openapi_responses(401, 403, 404),
)
async def timeline(
    ref: str,
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> dict[str, Any]:
    project = context.current_project

    def read() -> dict[str, Any]:
        with context.database.session(readonly=True) as s:
            return release_timeline(project, s, ref).to_json()

    return await asyncio.to_thread(read)


def _releases(context: ApiContext, a: str, b: str) -> tuple[ReleaseRecord, ReleaseRecord]:
    with context.database.session(readonly=True) as s:
        return get_release_or_404(s, a), get_release_or_404(s, b)


@router.get(
    "/releases/{ref}/diff",
    summary="How another release differs from this one: artifacts, and rendered manifests "
    "for an environment",
    responses=problem_openapi_responses(401, 403, 404, 409, 422),
)
async def release_diff(
    ref: str,
    against: str = Query(..., min_length=1, max_length=200, description="The other release."),
    environment: str | None = Query(
        None, max_length=63, description="Render both for this environment (needs git)."
    ),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> dict[str, Any]:
    a, b = await asyncio.to_thread(_releases, context, ref, against)
    manifests = None
    if environment is not None:
        _project(context).require_environment(environment)
        engine = require_engine(context)
        diffs = await engine.diffs.between_releases(a, b, environment)
        manifests = {app: [o.to_json() for o in objs] for app, objs in diffs.items()}
    return {
        "a": a.id,
        "b": b.id,
        "environment": environment,
        "artifacts": [c.to_json() for c in artifact_changes(a, b)],
        "manifests": manifests,
    }


@router.get(
    "/releases/{ref}/preview",
    summary="What promoting this release into an environment would meet (gates, in the "
    "words of `promotion explain`) and change (diff against live); creates nothing",
    responses=problem_openapi_responses(401, 403, 404, 409, 422),
)
async def preview(
    ref: str,
    environment: str = Query(..., min_length=1, max_length=63),
    diff: bool = Query(True, description="Also render, dry-run and diff against live."),
    principal: Principal = Depends(require_role(Role.VIEWER)),
    engine: Engine = Depends(require_engine),
) -> dict[str, Any]:
    engine.project.require_environment(environment)
    result = await preview_promotion(
        engine.promotions, engine.diffs, ref, environment, principal.caller(), with_diff=diff
    )
    return result.to_json()
