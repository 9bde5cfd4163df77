"""Insights: the four DORA metrics and flow analytics over a time range
(engine/insights.py; definitions in docs/insights.md)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.names import check_names
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.domain.insights import Insights
from shiplane.domain.roles import Role
from shiplane.engine.insights import InsightsRangeError, insights

router = APIRouter(prefix=API_PREFIX, tags=["insights"])


@router.get(
    "/insights",
    summary="DORA metrics and where releases wait, per environment and app, over a range",
    response_model=Insights,
    responses=problem_openapi_responses(401, 403, 422),
)
def get_insights(
    since: datetime | None = Query(
        None,
        description="Start of the range, inclusive (ISO 8601; no zone: UTC). "
        "Default: 30 days before `until`.",
    ),
    until: datetime | None = Query(
        None, description="End of the range, exclusive (ISO 8601; no zone: UTC). Default: now."
    ),
    environment: str | None = Query(None, max_length=200, description="Only this environment."),
    app: str | None = Query(None, max_length=200, description="Only promotions of this app."),
    principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> Insights:
    project = context.current_project
    check_names(project, environments=[environment], field="query.environment")
    check_names(project, apps=[app], field="query.app")
    if environment is not None:
        principal.require_environments([environment])
    try:
        return insights(context.database, project, since, until, environment, app)
    except InsightsRangeError as exc:
        raise ProblemError(
            422,
            f"query.{exc.field}: {exc.message}",
            title="Invalid request",
            extra={"hint": exc.hint, "field": f"query.{exc.field}"},
        ) from None
