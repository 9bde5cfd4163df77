"""The apps x environments matrix: the loaded project's apps and environments, with the
current release per cell from the store. Without a loaded shiplane.yaml it is empty."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import problem_openapi_responses
from shiplane.api.routes_config import config_state
from shiplane.api.schemas import MatrixOut
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role
from shiplane.store import matrix, promotion_controls, promotions
from shiplane.store.promotions import PromotionRecord

router = APIRouter(prefix=API_PREFIX, tags=["matrix"])


@router.get(
    "/matrix",
    summary="Apps x environments: the release each environment runs per app",
    response_model=MatrixOut,
    responses=problem_openapi_responses(401, 403),
)
def get_matrix(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> Response:
    project = context.current_project  # follows shiplane.yaml at the branch head
    # Only a server reading shiplane.yaml from git has a commit and refusals to show.
    state = config_state(context)
    config = state.model_dump(mode="json") if state.source == "git" else None
    if project is None:
        empty = MatrixOut(project=None, environments=[], apps=[], cells=[])
        return Response(empty.model_dump_json(exclude={"config"}), media_type="application/json")
    environments = list(project.environment_order())
    apps = list(project.apps)
    with context.database.session(readonly=True) as session:
        cells = matrix.get_matrix_rows(session, apps=apps, environments=environments)
        pending = [
            {
                "id": r.id,
                "environment": r.environment,
                "apps": r.apps,
                "release_id": r.release_id,
                "state": r.state,
                "reason": r.reason,
                "strategy": strategy_progress(r),
            }
            for r in promotions.open_promotions(session)
        ]
        controls = controls_json(session)
        orphans = matrix.list_orphans(session, environments=environments)
    # Plain rows straight to JSON: thousands of cells through pydantic models cost
    # more than the query itself (bench/matrix.py). The shape is MatrixOut's.
    document = {
        "project": project.project,
        "environments": environments,
        "apps": apps,
        "cells": cells,
        "pending": pending,
        **controls,
        "orphans": orphans,
        **({"config": config} if config is not None else {}),
    }
    return Response(json.dumps(document, default=_json_default), media_type="application/json")


def strategy_progress(record: PromotionRecord) -> dict[str, str] | None:
    """Per app, where a progressive strategy stands (docs/strategies.md); None otherwise."""
    strategy = record.data.get("strategy") if isinstance(record.data, dict) else None
    if not isinstance(strategy, dict) or strategy.get("phase") not in ("steps", "complete"):
        return None
    apps = strategy.get("apps") or {}
    return {app: str(entry.get("summary", "")) for app, entry in apps.items()}


def controls_json(session: Session) -> dict[str, list[dict[str, str]]]:
    """Holds and freezes in force, as `/matrix` and `/controls` show them."""
    return {
        "holds": [
            {
                "environment": h.environment,
                "app": h.app,
                "set_by": h.set_by,
                "set_at": h.set_at.isoformat(),
                "reason": h.reason,
            }
            for h in promotion_controls.list_holds(session)
        ],
        "freezes": [
            {
                "environment": f.environment or "*",
                "set_by": f.set_by,
                "set_at": f.set_at.isoformat(),
                "reason": f.reason,
            }
            for f in promotion_controls.list_freezes(session)
        ],
    }


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")
