"""The clusters of the project in force: where each is, which kind of credentials it uses
and whether Shiplane can use it now, with the reason when not (credentials rejected or
expired, permissions lost, no answer). `shiplane status` and the UI show the reasons;
`/readyz` fails with them."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role

router = APIRouter(prefix=API_PREFIX, tags=["operations"])


class ClusterOut(BaseModel):
    name: str
    server: str | None = Field(description="The API server's URL (None: not connectable).")
    auth: str | None = Field(
        description="`serviceaccount` (in-cluster), `token`, `client-certificate`, `exec`, "
        "`basic` or `none`."
    )
    namespaces: list[str] | None = Field(
        description="The namespaces the credentials are limited to (None: cluster-wide)."
    )
    token_expires: str | None = Field(description="The bearer token's expiry, when it says.")
    reachable: bool = Field(description="The API server answered and took the credentials.")
    reason: str | None = Field(description="What is wrong, when something is.")


class ClustersOut(BaseModel):
    clusters: list[ClusterOut]


@router.get(
    "/clusters",
    summary="Configured clusters: server, credentials kind, reachable, and why not",
    response_model=ClustersOut,
    responses=problem_openapi_responses(401, 403),
)
async def list_clusters(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> ClustersOut:
    if context.engine is None:  # an API-only replica connects to no cluster
        return ClustersOut(clusters=[])
    found = await context.engine.cluster_statuses()
    return ClustersOut(
        clusters=[
            ClusterOut(
                name=c.name,
                server=c.server,
                auth=c.auth,
                namespaces=c.namespaces,
                token_expires=c.token_expires,
                reachable=c.reachable,
                reason=c.reason,
            )
            for c in found
        ]
    )
