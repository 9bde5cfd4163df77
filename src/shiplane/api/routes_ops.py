"""Operational endpoints: liveness, readiness, Prometheus metrics. No authentication,
so that probes and scrapers need no token (they reveal environment and app names with
counts and durations, never release contents, reasons or secrets)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import generate_latest
from pydantic import BaseModel

from shiplane.api.context import ApiContext, get_context
from shiplane.api.logging import get_logger
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.routes_config import ready_config
from shiplane.api.schemas import ReadyConfigOut
from shiplane.engine.clusters import ClusterStatus

router = APIRouter(tags=["operations"])
_log = get_logger("shiplane.api.ops")


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    config: ReadyConfigOut | None = None
    """With a server following its GitOps repository: the shiplane.yaml commit in force
    and, when a newer version was refused, its commit and where its errors are. A refused
    version leaves the server ready: the last good one serves on."""


@router.get("/healthz", summary="Liveness: the process serves requests")
def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers, and every cluster when an engine runs",
    responses=problem_openapi_responses(503),
    response_model=ReadyOut,
    response_model_exclude_none=True,
)
async def readyz(context: ApiContext = Depends(get_context)) -> ReadyOut:
    try:
        await asyncio.to_thread(context.database.ping)
    except Exception as exc:
        # The cause goes to the log; the probe gets a stable, non-leaking message.
        _log.warning("readiness check failed", error=type(exc).__name__)
        raise ProblemError(
            503, "the database is not reachable", headers={"Retry-After": "5"}
        ) from exc
    if context.engine is not None:
        found = [c for c in await context.engine.cluster_statuses() if not c.reachable or c.reason]
        if found:
            _log.warning("readiness check failed", clusters={c.name: c.reason for c in found})
            raise ProblemError(503, clusters_detail(found), headers={"Retry-After": "5"})
    return ReadyOut(status="ready", config=ready_config(context))


def clusters_detail(found: list[ClusterStatus]) -> str:
    """`clusters not reachable: a (reason); clusters degraded: b (reason)`: short reasons
    (no credentials; no address beyond what shiplane.yaml names), such as "credentials
    expired at ..." or "missing permissions in shop: patch deployments.apps"."""

    def listed(items: list[ClusterStatus]) -> str:
        return "; ".join(f"{c.name} ({c.reason})" if c.reason else c.name for c in items)

    down = sorted((c for c in found if not c.reachable), key=lambda c: c.name)
    degraded = sorted((c for c in found if c.reachable), key=lambda c: c.name)
    parts = [f"clusters not reachable: {listed(down)}"] if down else []
    parts += [f"clusters degraded: {listed(degraded)}"] if degraded else []
    return "; ".join(parts)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(context: ApiContext = Depends(get_context)) -> Response:
    body = context.metrics.render()
    if context.engine is not None:
        body += generate_latest(context.engine.metrics.registry)
    return Response(body, media_type=context.metrics.content_type)
