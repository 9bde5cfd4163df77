"""The pipeline (home): the environment graph, one node per environment; each node
refreshes itself through htmx when an audit event about its environment arrives."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from shiplane.api.context import ApiContext, get_context
from shiplane.web.auth import UiError, WebUser, require_user
from shiplane.web.paths import UI_HOME, UI_PREFIX
from shiplane.web.pipeline_view import pipeline_view
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
NODE_PATH = f"{UI_PREFIX}/pipeline/environments/{{name}}"
GRAPH_PATH = f"{UI_PREFIX}/pipeline/graph"


@router.get(UI_HOME)
def pipeline_page(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    project = context.current_project
    with context.database.session(readonly=True) as session:
        view = pipeline_view(session, project)
    return render(request, "pipeline.html", user=user, active="pipeline", view=view)


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
