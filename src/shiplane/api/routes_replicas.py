"""Replicas and leases: which `shiplane serve` processes are alive and what each holds
(docs/durability.md). Any replica answers with the same, database-wide view."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role
from shiplane.store import leases, promotion_leases

router = APIRouter(prefix=API_PREFIX, tags=["operations"])


class ReplicaOut(BaseModel):
    replica: str
    expires_at: str | None
    promotions: int
    leases: list[str]


class ReplicasOut(BaseModel):
    # The replica that answered (None: it runs no engine, only the API).
    self: dict[str, Any] | None
    replicas: list[ReplicaOut]
    leases: list[dict[str, Any]]


@router.get(
    "/replicas",
    summary="Live replicas and the leases each holds (promotions, watches, deploys)",
    responses=problem_openapi_responses(401, 403),
)
async def list_replicas(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> ReplicasOut:
    def read() -> tuple[list[leases.LeaseInfo], dict[str, int]]:
        with context.database.session(readonly=True) as s:
            return leases.list_leases(s), promotion_leases.promotion_leases_by_owner(s)

    named, promotions = await asyncio.to_thread(read)
    replicas: dict[str, ReplicaOut] = {}
    for lease in named:
        if lease.name.startswith(leases.REPLICA_PREFIX) and lease.owner:
            replicas[lease.owner] = ReplicaOut(
                replica=lease.owner,
                expires_at=None if lease.expires_at is None else lease.expires_at.isoformat(),
                promotions=promotions.get(lease.owner, 0),
                leases=[],
            )
    for lease in named:
        holder = replicas.get(lease.owner or "")
        if holder is not None and not lease.name.startswith(leases.REPLICA_PREFIX):
            holder.leases.append(lease.name)
    engine = context.engine
    return ReplicasOut(
        self=None if engine is None else engine.leases.holding(),
        replicas=sorted(replicas.values(), key=lambda r: r.replica),
        leases=[lease.to_json() for lease in named],
    )
