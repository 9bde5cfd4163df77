"""Promotions: promote, list, show, explain; and the controls over an app or environment:
rollback, hold, freeze. What people do to one promotion (approve, abort, resume, ...)
is routes_promotion_actions.py, included in this router. The engine writes each change
and its audit event in one transaction; these routes check roles and scopes. A refused
request raises a family of `shiplane.domain.errors`, which `api/problems.py` turns into
its status once."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.engine import require_engine
from shiplane.api.names import check_names, parse_choice
from shiplane.api.pagination import PageOut, PageParams, invalid_cursor, page_params
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.promotion_refs import get_promotion, promotion_ref
from shiplane.api.routes_matrix import controls_json
from shiplane.api.routes_promotion_actions import router as actions_router
from shiplane.api.schemas_promotions import (
    ActionOut,
    Explanation,
    PromoteRequest,
    PromotionDetail,
    Reason,
    Rejection,
    RollbackRequest,
)
from shiplane.api.settings import API_PREFIX
from shiplane.domain.pagination import InvalidCursorError
from shiplane.domain.promotion import PromotionState
from shiplane.domain.roles import Role
from shiplane.engine.promotions import Actor
from shiplane.engine.promotions.permissions import ACTION_ROLES, allowed_actions
from shiplane.engine.service import Engine
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

router = APIRouter(prefix=API_PREFIX, tags=["promotions"])
_ERRORS = (401, 403, 404, 409, 422)


def _actor(principal: Principal) -> Actor:
    return principal.caller().actor


@router.post(
    "/promotions",
    status_code=201,
    summary="Promote a release into an environment (it queues, waits for gates, deploys)",
    responses=problem_openapi_responses(*_ERRORS),
)
async def promote(
    body: PromoteRequest,
    response: Response,
    principal: Principal = Depends(require_role(Role.PROMOTER)),
    engine: Engine = Depends(require_engine),
) -> PromotionRecord:
    engine.project.require_environment(body.environment)
    principal.require_environments([body.environment], Role.PROMOTER)
    record = await engine.promotions.request(
        body.release, body.environment, actor=_actor(principal), reason=body.reason
    )
    response.headers["Location"] = f"{API_PREFIX}/promotions/{record.id}"
    return record


@router.get(
    "/promotions",
    summary="Promotions, newest first",
    responses=problem_openapi_responses(401, 403, 422),
)
async def list_promotions(
    environment: str | None = Query(None, max_length=63),
    app: str | None = Query(None, max_length=63),
    state: str | None = Query(
        None,
        max_length=16,
        description="Only promotions in this state (case is ignored).",
        json_schema_extra={"enum": [s.value for s in PromotionState]},
    ),
    release: str | None = Query(None, max_length=40, description="Release id."),
    open_only: bool = Query(False, alias="open", description="Only queued or active ones."),
    page: PageParams = Depends(page_params),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PageOut[PromotionRecord]:
    project = context.current_project
    check_names(project, environments=[environment], field="query.environment")
    check_names(project, apps=[app], field="query.app")
    wanted = parse_choice(PromotionState, state, "query.state", "state")

    def read() -> PageOut[PromotionRecord]:
        with context.database.session(readonly=True) as s:
            result = store.list_promotions(
                s,
                environment=environment,
                app=app,
                state=wanted.value if wanted is not None else None,
                release_id=release,
                open_only=open_only,
                limit=page.limit,
                cursor=page.cursor,
            )
        return PageOut[PromotionRecord](items=list(result.items), next_cursor=result.next_cursor)

    try:
        return await asyncio.to_thread(read)
    except InvalidCursorError as exc:
        raise invalid_cursor(str(exc)) from None


@router.get(
    "/promotions/{promotion_id}",
    summary="One promotion with every recorded step",
    responses=problem_openapi_responses(401, 403, 404),
)
async def show_promotion(
    promotion_id: str = Depends(promotion_ref),
    principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PromotionDetail:
    project, now = context.current_project, context.now()

    def read() -> PromotionDetail | None:
        with context.database.session(readonly=True) as s:
            record = store.get_promotion(s, promotion_id)
            if record is None:
                return None
            actions = None
            if project is not None:
                checks = allowed_actions(project, s, record, principal.caller(), now)
                actions = {a: ActionOut(**c.to_json()) for a, c in checks.items()}
            steps = store.list_steps(s, promotion_id)
            return PromotionDetail(promotion=record, steps=steps, actions=actions)

    detail = await asyncio.to_thread(read)
    if detail is None:
        raise ProblemError(404, f"no promotion {promotion_id!r}")
    return detail


@router.get(
    "/promotions/{promotion_id}/explain",
    summary="Why a promotion waits or failed, and what would unblock it, in plain words",
    responses=problem_openapi_responses(401, 403, 404, 409),
)
async def explain_promotion(
    promotion_id: str = Depends(promotion_ref),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    engine: Engine = Depends(require_engine),
) -> Explanation:
    text = await engine.promotions.explain(promotion_id)
    record = await asyncio.to_thread(get_promotion, engine, promotion_id)
    return Explanation(id=promotion_id, state=record.state, text=text)


@router.post(
    "/environments/{environment}/apps/{app}/rollback",
    status_code=201,
    summary="Roll an app back (default: to the last release verified there); sets a hold",
    responses=problem_openapi_responses(*_ERRORS),
)
async def rollback(
    environment: str,
    app: str,
    body: RollbackRequest | None = None,
    principal: Principal = Depends(require_role(ACTION_ROLES["rollback"])),
    engine: Engine = Depends(require_engine),
) -> PromotionRecord:
    _check_path(engine, environment, app)
    principal.require_environments([environment], ACTION_ROLES["rollback"])
    request = body or RollbackRequest()
    return await engine.promotions.rollback(
        environment, app, actor=_actor(principal), to=request.to, reason=request.reason
    )


@router.put(
    "/environments/{environment}/apps/{app}/hold",
    summary="Stop auto-promotion of an app into an environment",
    responses=problem_openapi_responses(*_ERRORS),
)
async def hold(
    environment: str,
    app: str,
    body: Reason | None = None,
    principal: Principal = Depends(require_role(Role.PROMOTER)),
    engine: Engine = Depends(require_engine),
) -> dict[str, Any]:
    _check_path(engine, environment, app)
    principal.require_environments([environment], Role.PROMOTER)
    changed = await engine.promotions.set_hold(
        environment, app, actor=_actor(principal), on=True, reason=body.reason if body else ""
    )
    return {"environment": environment, "app": app, "held": True, "changed": changed}


@router.delete(
    "/environments/{environment}/apps/{app}/hold",
    summary="Lift a hold",
    responses=problem_openapi_responses(*_ERRORS),
)
async def unhold(
    environment: str,
    app: str,
    principal: Principal = Depends(require_role(Role.PROMOTER)),
    engine: Engine = Depends(require_engine),
) -> dict[str, Any]:
    _check_path(engine, environment, app)
    principal.require_environments([environment], Role.PROMOTER)
    changed = await engine.promotions.set_hold(environment, app, actor=_actor(principal), on=False)
    return {"environment": environment, "app": app, "held": False, "changed": changed}


@router.put(
    "/environments/{environment}/freeze",
    summary="Freeze an environment (use '*' for the whole project): promotions wait",
    responses=problem_openapi_responses(*_ERRORS),
)
async def freeze(
    environment: str,
    body: Rejection,
    principal: Principal = Depends(require_role(Role.APPROVER)),
    engine: Engine = Depends(require_engine),
    abort: Annotated[
        bool,
        Query(
            description="also abort the promotions whose canary or blue-green is moving in "
            "the frozen environment(s): all traffic back on the stable version"
        ),
    ] = False,
) -> dict[str, Any]:
    target = None if environment == "*" else environment
    if target is None and not principal.unscoped:
        raise ProblemError(403, "a project-wide freeze needs a token not scoped to environments")
    if target is not None:
        engine.project.require_environment(target)
        principal.require_environments([target], Role.APPROVER)
    actor = _actor(principal)
    changed = await engine.promotions.set_freeze(target, actor=actor, on=True, reason=body.reason)
    frozen: dict[str, Any] = {"environment": environment, "frozen": True, "changed": changed}
    if abort:  # after the freeze: nothing new starts while the moving ones are aborted
        frozen["aborted"] = await engine.promotions.abort_moving(
            target, actor=actor, reason=f"frozen: {body.reason}"
        )
    return frozen


@router.delete(
    "/environments/{environment}/freeze",
    summary="Lift a freeze",
    responses=problem_openapi_responses(*_ERRORS),
)
async def unfreeze(
    environment: str,
    principal: Principal = Depends(require_role(Role.APPROVER)),
    engine: Engine = Depends(require_engine),
) -> dict[str, Any]:
    target = None if environment == "*" else environment
    if target is not None:
        engine.project.require_environment(target)
        principal.require_environments([target], Role.APPROVER)
    changed = await engine.promotions.set_freeze(target, actor=_actor(principal), on=False)
    return {"environment": environment, "frozen": False, "changed": changed}


@router.get(
    "/controls",
    summary="Holds and freezes in force",
    responses=problem_openapi_responses(401, 403),
)
async def controls(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with context.database.session(readonly=True) as s:
            return controls_json(s)

    return await asyncio.to_thread(read)


def _check_path(engine: Engine, environment: str, app: str) -> None:
    """Unknown names in the path are 404 with the nearest name, before the token's scope
    is asked (a typo is not a permission problem)."""
    engine.project.require_environment(environment)
    engine.project.require_app(app)


# After this module's own routes, as they were declared before the actions moved out.
router.include_router(actions_router)
