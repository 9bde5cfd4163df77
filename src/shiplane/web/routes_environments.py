"""Environments: freezes (one environment or the whole project), holds per app, the
deployment windows with their next opening, and drift per app. Freeze, unfreeze, hold
and lift are the API's own route functions (api/routes_promotions.py), after the role
its route demands; a refusal or a bad field is shown beside the form and changes
nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shiplane.api import routes_promotions as api
from shiplane.api.context import ApiContext, get_context
from shiplane.api.schemas_promotions import Reason, Rejection
from shiplane.domain.roles import Role
from shiplane.engine.clusters import ClusterStatus
from shiplane.web.auth import UiError, WebUser, require_user, verify_csrf
from shiplane.web.engine_calls import Refusal, engine_of, form_fields, parse_body, permit, run
from shiplane.web.environments_view import environment_summaries
from shiplane.web.forms import FormError, read_form
from shiplane.web.paths import UI_PREFIX
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
ENVIRONMENTS_PATH = f"{UI_PREFIX}/environments"
PROJECT_FREEZE_PATH = f"{ENVIRONMENTS_PATH}/-/freeze"  # '*' of the API: the whole project
# The roles the API's routes demand (their `require_role` dependencies).
FREEZE_ROLE = Role.APPROVER
HOLD_ROLE = Role.PROMOTER
CLUSTERS_MAX_AGE = 10.0  # seconds a probe of the clusters is shown again


def _page(
    request: Request,
    context: ApiContext,
    user: WebUser,
    name: str | None = None,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
    clusters: list[ClusterStatus] | None = None,
) -> Response:
    project = context.current_project
    if project is None:
        summaries = []
    else:
        if name is not None and name not in project.environments:
            raise UiError(404, f"no environment named {name!r} in this project")
        with context.database.session(readonly=True) as s:
            summaries = environment_summaries(s, project, context.now(), only=name)
    return render(
        request,
        "environment.html" if name is not None else "environments.html",
        user=user,
        active="environments",
        status=status,
        has_project=project is not None,
        summaries=summaries,
        env=summaries[0] if name is not None and summaries else None,
        apps=list(project.apps) if project is not None else [],
        project_frozen=[f for f in summaries[0].freezes if f.environment is None]
        if summaries
        else [],
        errors=errors or {},
        done=done,
        environments_path=ENVIRONMENTS_PATH,
        project_freeze_path=PROJECT_FREEZE_PATH,
        clusters=clusters or [],
    )


@router.get(ENVIRONMENTS_PATH)
async def environments_page(
    request: Request,
    done: str | None = None,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    # The clusters' state (reachable, or why not: credentials expired, permissions lost),
    # probed at most every few seconds however often the page refreshes.
    clusters = (
        None
        if context.engine is None
        else await context.engine.cluster_statuses(max_age=CLUSTERS_MAX_AGE)
    )
    return await run_in_threadpool(
        _page, request, context, user, done=_done(done), clusters=clusters
    )


@router.get(ENVIRONMENTS_PATH + "/{name}")
def environment_page(
    request: Request,
    name: str,
    done: str | None = None,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return _page(request, context, user, name, done=_done(done))


_DONE = {
    "frozen": "Frozen.",
    "unfrozen": "The freeze is lifted.",
    "held": "The hold is set.",
    "lifted": "The hold is lifted.",
}


def _done(word: str | None) -> str | None:
    return _DONE.get(word or "")


async def _act(
    request: Request,
    context: ApiContext,
    user: WebUser,
    *,
    page: str | None,
    form_id: str,
    done: str,
    action: Callable[[dict[str, str]], Awaitable[Any]],
) -> Response:
    """CSRF, then the action; a refusal re-renders the page (`page`: an environment, or
    None for the list) with the message beside form `form_id`."""
    try:
        form = await read_form(request)
    except FormError:
        form = {}
    verify_csrf(request, user, form)
    try:
        await action(form)
    except Refusal as exc:
        field, message = exc.first()
        errors = {"form": form_id, "field": field, "message": message}
        status = exc.status
        return await run_in_threadpool(
            lambda: _page(request, context, user, page, errors=errors, status=status)
        )
    target = ENVIRONMENTS_PATH if page is None else f"{ENVIRONMENTS_PATH}/{page}"
    return RedirectResponse(f"{target}?done={done}", status_code=303)


@router.post(PROJECT_FREEZE_PATH)
async def project_freeze(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return await _freeze(request, context, user, "*", on=True)


@router.post(PROJECT_FREEZE_PATH + "/lift")
async def project_unfreeze(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return await _freeze(request, context, user, "*", on=False)


@router.post(ENVIRONMENTS_PATH + "/{name}/freeze")
async def environment_freeze(
    request: Request,
    name: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return await _freeze(request, context, user, name, on=True)


@router.post(ENVIRONMENTS_PATH + "/{name}/freeze/lift")
async def environment_unfreeze(
    request: Request,
    name: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return await _freeze(request, context, user, name, on=False)


async def _freeze(
    request: Request, context: ApiContext, user: WebUser, target: str, *, on: bool
) -> Response:
    page = None if target == "*" else target
    form_id = ("freeze" if on else "unfreeze") + ("-project" if page is None else "")

    async def act(form: dict[str, str]) -> Any:
        permit(user, FREEZE_ROLE, [])
        engine = engine_of(context)
        principal = user.principal
        if not on:
            return await run(lambda: api.unfreeze(target, principal=principal, engine=engine))
        body = parse_body(Rejection, form_fields(form, ("reason",)))
        return await run(lambda: api.freeze(target, body, principal=principal, engine=engine))

    return await _act(
        request,
        context,
        user,
        page=page,
        form_id=form_id,
        done="frozen" if on else "unfrozen",
        action=act,
    )


@router.post(ENVIRONMENTS_PATH + "/{name}/holds")
async def set_hold(
    request: Request,
    name: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    async def act(form: dict[str, str]) -> Any:
        permit(user, HOLD_ROLE, [])
        engine = engine_of(context)
        app = form.get("app", "")
        if not app:
            raise Refusal(422, {"app": "app: choose the app to hold"})
        body = parse_body(Reason, form_fields(form, ("reason",)))
        return await run(lambda: api.hold(name, app, body, principal=user.principal, engine=engine))

    return await _act(request, context, user, page=name, form_id="hold", done="held", action=act)


@router.post(ENVIRONMENTS_PATH + "/{name}/holds/{app}/lift")
async def lift_hold(
    request: Request,
    name: str,
    app: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    async def act(_form: dict[str, str]) -> Any:
        permit(user, HOLD_ROLE, [])
        engine = engine_of(context)
        return await run(lambda: api.unhold(name, app, principal=user.principal, engine=engine))

    return await _act(
        request, context, user, page=name, form_id=f"lift-{app}", done="lifted", action=act
    )
