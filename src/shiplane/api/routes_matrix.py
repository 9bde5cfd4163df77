"""The apps x environments matrix: the loaded project's apps and environments, with the
current release per cell from the store. Without a loaded shiplane.yaml it is empty."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import problem_openapi_responses
from shiplane.api.schemas import MatrixOut, PendingPromotion
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role
from shiplane.store import matrix, promotions

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
    project = context.project
    if project is None:
        document = MatrixOut(project=None, environments=[], apps=[], cells=[])
    else:
        environments = list(project.environment_order())
        apps = list(project.apps)
        with context.database.session(readonly=True) as session:
            cells = matrix.get_matrix(session, apps=apps, environments=environments)
            pending = [
                PendingPromotion(
                    id=r.id,
                    environment=r.environment,
                    apps=r.apps,
                    release_id=r.release_id,
                    state=r.state,
                    reason=r.reason,
                )
                for r in promotions.open_promotions(session)
            ]
        # The cells are validated store records already; re-validating thousands of them
        # through the response model would double the cost of a large matrix (bench/).
        document = MatrixOut.model_construct(
            project=project.project,
            environments=environments,
            apps=apps,
            cells=cells,
            pending=pending,
        )
    return Response(document.model_dump_json(), media_type="application/json")
