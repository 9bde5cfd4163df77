"""Insights: the four DORA metrics per environment and app, and where releases wait
(stages and gate types), over a selectable range: engine/insights.py, the service GET
/api/v1/insights answers from, so the page shows exactly the API's numbers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shiplane.api.context import ApiContext, get_context
from shiplane.domain.insights import Insights
from shiplane.engine.insights import InsightsRangeError, insights
from shiplane.web.auth import WebUser, require_user
from shiplane.web.insights_view import (
    PRESET_DAYS,
    duration,
    parse_insights_query,
    rate,
    raw,
    wait_chart,
)
from shiplane.web.paths import UI_PREFIX
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
INSIGHTS_PATH = f"{UI_PREFIX}/insights"


@router.get(INSIGHTS_PATH)
def insights_page(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    project = context.current_project
    query, errors = parse_insights_query(request.query_params, project, user)
    report: Insights | None = None
    if not errors:
        try:
            report = insights(
                context.database, project, query.since, query.until, query.environment, query.app
            )
        except InsightsRangeError as exc:
            errors[exc.field] = f"query.{exc.field}: {exc.message}"
    now = context.now().replace(microsecond=0)
    presets = [
        (days, query.link(since=(now - timedelta(days=days)).isoformat(), until=now.isoformat()))
        for days in PRESET_DAYS
    ]
    return render(
        request,
        "insights.html",
        user=user,
        active="insights",
        query=query,
        errors=errors,
        report=report,
        presets=presets,
        environments=project.environment_order() if project is not None else [],
        apps=list(project.apps) if project is not None else [],
        insights_path=INSIGHTS_PATH,
        duration=duration,
        rate=rate,
        raw=raw,
        wait_chart=wait_chart,
    )
