"""The pipeline (home): the environment graph, one node per environment; each node
refreshes itself through htmx when an audit event about its environment arrives. Below
it, the artifact sources (web/sources_view.py) with a Refresh button each: the API's own
route function (api/routes_sources.py) after the role it demands."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shiplane.api import routes_sources as api
from shiplane.api.context import ApiContext, get_context
from shiplane.domain.roles import Role
from shiplane.engine.service import Engine
from shiplane.web.auth import UiError, WebUser, require_user, verify_csrf
from shiplane.web.engine_calls import Refusal, engine_of, permit, run
from shiplane.web.forms import FormError, read_form
from shiplane.web.paths import UI_HOME, UI_PREFIX
from shiplane.web.pipeline_view import pipeline_view
from shiplane.web.sources_view import refreshed_notice, source_rows
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
NODE_PATH = f"{UI_PREFIX}/pipeline/environments/{{name}}"
GRAPH_PATH = f"{UI_PREFIX}/pipeline/graph"
SOURCES_PATH = f"{UI_PREFIX}/pipeline/sources"
REFRESH_ROLE = Role.PROMOTER  # what `POST /api/v1/sources/{name}/refresh` demands


def _sources_values(
    session: Session, context: ApiContext, user: WebUser, refreshed: str = ""
) -> dict[str, Any]:
    """What the Sources panel (`_sources_panel.html`) needs."""
    engine = context.engine
    next_poll = engine.sources.next_poll if isinstance(engine, Engine) else None
    sources = source_rows(session, context.current_project, next_poll)
    try:
        permit(user, REFRESH_ROLE, [])
        refresh_refused = None
    except Refusal as exc:
        refresh_refused = exc.first()[1]
    return {
        "sources": sources,
        "sources_path": SOURCES_PATH,
        "refresh_refused": refresh_refused,
        "done": next((refreshed_notice(r) for r in sources if r.name == refreshed), None),
    }


def _page(
    request: Request,
    context: ApiContext,
    user: WebUser,
    *,
    refreshed: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with context.database.session(readonly=True) as session:
        view = pipeline_view(session, context.current_project)
        panel = _sources_values(session, context, user, refreshed)
    return render(
        request,
        "pipeline.html",
        user=user,
        active="pipeline",
        status=status,
        view=view,
        errors=errors or {},
        **panel,
    )


@router.get(UI_HOME)
def pipeline_page(
    request: Request,
    refreshed: str = "",
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return _page(request, context, user, refreshed=refreshed)


@router.get(SOURCES_PATH)
def sources_panel(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    """The Sources panel alone, redrawn live when an audit event arrives (a webhook
    delivery, a release assembled, a refresh)."""
    with context.database.session(readonly=True) as session:
        panel = _sources_values(session, context, user)
    if not panel["sources"]:
        return HTMLResponse("")
    return render(request, "_sources_panel.html", user=user, errors={}, **panel)


@router.post(SOURCES_PATH + "/{name}/refresh")
async def refresh_source(
    request: Request,
    name: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    """Look at source `name` now and wait for the look (merged with one under way)."""
    try:
        form = await read_form(request)
    except FormError:
        form = {}
    verify_csrf(request, user, form)
    project = context.current_project
    if project is None or name not in project.sources:
        known = ", ".join(sorted(project.sources if project else ())) or "none are defined"
        raise UiError(404, f"source {name!r} is not defined (sources: {known})")
    try:
        permit(user, REFRESH_ROLE, [])
        engine = engine_of(context)
        await run(lambda: api.refresh_source(name, principal=user.principal, engine=engine))
    except Refusal as exc:
        errors = {"form": f"refresh-{name}", "field": "", "message": exc.first()[1]}
        status = exc.status
        return await run_in_threadpool(
            lambda: _page(request, context, user, errors=errors, status=status)
        )
    return RedirectResponse(
        f"{UI_HOME}?refreshed={quote(name)}#source-{quote(name)}", status_code=303
    )


@router.get(NODE_PATH)
def pipeline_node(
    request: Request,
    name: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    project = context.current_project
    if project is None or name not in project.environments:
        raise UiError(404, f"no environment named {name!r} in this project")
    with context.database.session(readonly=True) as session:
        view = pipeline_view(session, project, only=[name])
    return render(request, "_environment_node.html", user=user, node=view.nodes[0])


@router.get(GRAPH_PATH)
def pipeline_graph(
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    """The overview drawing alone, redrawn live (the nodes refresh themselves)."""
    project = context.current_project
    with context.database.session(readonly=True) as session:
        view = pipeline_view(session, project)
    return HTMLResponse(view.graph_svg or "")
