"""Sync, diff and history: the deploy engine's surface."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.engine import require_engine
from shiplane.api.names import bounded, check_names
from shiplane.api.pagination import PageOut, PageParams, invalid_cursor, page_params
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.domain.pagination import InvalidCursorError
from shiplane.domain.roles import Role
from shiplane.engine.deploy import DeployOutcome, DeployStepError
from shiplane.engine.service import Engine
from shiplane.store import deploys
from shiplane.store.records import DeployRunRecord

router = APIRouter(prefix=API_PREFIX, tags=["deploy"])
_ERRORS = (401, 403, 404, 409, 422)


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apps: list[str] = Field(default_factory=list, description="Only these apps (default: all).")
    wait: bool = Field(True, description="Wait for health before answering.")


class DeployResult(BaseModel):
    """The result of a sync: `status` succeeded or failed, with the failing step."""

    status: str
    step: str | None = None
    error: str | None = None
    outcome: dict[str, Any] | None = None


def result_of(outcome: DeployOutcome | None, error: DeployStepError | None) -> DeployResult:
    if error is None:
        assert outcome is not None
        return DeployResult(status=outcome.status, outcome=outcome.to_json())
    return DeployResult(
        status="failed",
        step=error.step,
        error=error.message,
        outcome=error.outcome.to_json() if error.outcome is not None else None,
    )


@router.post(
    "/environments/{environment}/sync",
    summary="Re-apply what git says for an environment (all apps, or some)",
    responses=problem_openapi_responses(*_ERRORS),
)
async def sync_environment(
    environment: str,
    body: SyncRequest | None = None,
    principal: Principal = Depends(require_role(Role.PROMOTER)),
    engine: Engine = Depends(require_engine),
) -> DeployResult:
    request = body or SyncRequest()
    # Names first: a typo is answered with the nearest name, not as a scope problem.
    engine.project.require_environment(environment)
    engine.project.require_apps(request.apps)
    principal.require_environments([environment], Role.PROMOTER)
    try:
        outcome = await engine.sync(
            environment, request.apps or None, actor=principal.name, wait=request.wait
        )
    except DeployStepError as exc:
        # A sync that started and failed is an answer, not an error: the body says which
        # step failed and what was done. A request that cannot be planned is a problem
        # (its family's status, from the one handler in api/problems.py).
        return result_of(None, exc)
    return result_of(outcome, None)


@router.get(
    "/environments/{environment}/apps/{app}/diff",
    summary="What a sync would change: git (rendered, server-side dry-run) vs live",
    responses=problem_openapi_responses(*_ERRORS),
)
async def diff_app(
    environment: str,
    app: str,
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    engine: Engine = Depends(require_engine),
) -> dict[str, Any]:
    engine.project.require_environment(environment)
    engine.project.require_app(app)
    return (await engine.diffs.git_vs_live(environment, app)).to_json()


@router.get(
    "/diff",
    summary="How two environments differ besides versions (config, replicas, env, resources)",
    responses=problem_openapi_responses(*_ERRORS),
)
async def diff_environments(
    a: str = Query(..., description="First environment."),
    b: str = Query(..., description="Second environment."),
    app: list[str] = Query(default_factory=list, description="Only these apps."),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    engine: Engine = Depends(require_engine),
) -> dict[str, Any]:
    for env in (a, b):
        engine.project.require_environment(env)
    engine.project.require_apps(app)
    return (await engine.diffs.between(a, b, app or None)).to_json()


@router.get(
    "/history",
    summary="Deploys and syncs, newest first",
    responses=problem_openapi_responses(401, 403, 422),
)
async def history(
    environment: str | None = Query(None, max_length=63),
    app: str | None = Query(None, max_length=63),
    page: PageParams = Depends(page_params),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PageOut[DeployRunRecord]:
    check_names(context.current_project, environments=[environment], field="query.environment")
    check_names(context.current_project, apps=[app], field="query.app")

    def read() -> PageOut[DeployRunRecord]:
        with context.database.session(readonly=True) as s:
            result = deploys.list_runs(
                s, environment=environment, app=app, limit=page.limit, cursor=page.cursor
            )
        return PageOut[DeployRunRecord](items=list(result.items), next_cursor=result.next_cursor)

    try:
        return await asyncio.to_thread(read)
    except InvalidCursorError as exc:
        raise invalid_cursor(str(exc)) from None


@router.get(
    "/history/{run_id}",
    summary="One deploy or sync run with its steps",
    responses=problem_openapi_responses(401, 403, 404),
)
async def history_run(
    run_id: str,
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> DeployRunRecord:
    def read() -> DeployRunRecord | None:
        with context.database.session(readonly=True) as s:
            return deploys.get_run(s, run_id)

    run = await asyncio.to_thread(read)
    if run is None:
        raise ProblemError(404, f"no deploy run {bounded(run_id)}")
    return run
