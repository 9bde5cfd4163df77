"""The matrix: apps x environments with filters and paging. An htmx request (the filter
form, paging links, a live refresh) gets only the table."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shiplane.api.context import ApiContext, get_context
from shiplane.web.auth import WebUser, require_user
from shiplane.web.matrix_view import PAGE_SIZES, matrix_page, parse_filters
from shiplane.web.paths import UI_PREFIX
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
MATRIX_PATH = f"{UI_PREFIX}/matrix"
# htmx swaps one of these (by the id of its target) instead of the whole page.
FRAGMENTS = {"matrix-table": "_matrix_table.html", "matrix-view": "_matrix_view.html"}


@router.get(MATRIX_PATH)
def matrix(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    project = context.current_project
    filters, errors = parse_filters(request.query_params, project)
    with context.database.session(readonly=True) as session:
        page = matrix_page(session, project, filters, errors)
    template = "matrix.html"
    if request.headers.get("HX-Request") == "true":
        template = FRAGMENTS.get(request.headers.get("HX-Target", ""), template)
    all_environments = project.environment_order() if project is not None else []
    return render(
        request,
        template,
        user=user,
        active="matrix",
        page=page,
        page_sizes=PAGE_SIZES,
        all_environments=all_environments,
        matrix_path=MATRIX_PATH,
    )
