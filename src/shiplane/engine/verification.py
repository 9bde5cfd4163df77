"""Verification of a deployed promotion: health first, then the environment's checks.

Each call does one bounded round of work and returns what to do next (done, failed, or
look again at a time), with the checks' state as JSON for the promotion row, so that a
restart resumes verification where it was instead of starting over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lightkube import AsyncClient

from shiplane.config import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.health import HealthStatus
from shiplane.domain.releases import ReleaseInfo
from shiplane.engine.clusters import ClusterHandle
from shiplane.gates import checks
from shiplane.gates.checks import CheckSpec, step
from shiplane.kube.health import HealthPolicy
from shiplane.kube.health_wait import check_health
from shiplane.kube.refs import ObjRef

HEALTH_POLICY = HealthPolicy(lb_address_optional=True)
HEALTH_POLL = timedelta(seconds=1)


@dataclass
class VerifyRound:
    outcome: str  # running | passed | failed | inconclusive
    reason: str
    next_check_at: datetime | None
    state: dict[str, Any] = field(default_factory=dict)
    finished_checks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


async def verify_round(
    *,
    project: ProjectConfig,
    environment: str,
    handle: ClusterHandle,
    refs: list[ObjRef],
    release: ReleaseInfo,
    apps: tuple[str, ...],
    run_id: str,
    state: dict[str, Any],
    health_timeout: float,
    clock: Clock | None = None,
    run_checks: bool = True,
) -> VerifyRound:
    """One round: health until Healthy (deadline `health_timeout` from the first round),
    then each check of the environment's `verify`, in order. A rollback (`run_checks`
    False) goes back to a release already verified there: health is enough, and the
    checks' signals (error rates...) still describe the release being replaced."""
    clock = clock or SystemClock()
    state = dict(state)
    current = clock.now()
    started = datetime.fromisoformat(state.setdefault("started_at", current.isoformat()))
    if not state.get("healthy"):
        health = await check_health(handle.client, refs, policy=HEALTH_POLICY)
        if health.status is HealthStatus.HEALTHY:
            state["healthy"] = True
            state["health"] = "Healthy"
        elif health.status in (HealthStatus.DEGRADED, HealthStatus.SUSPENDED):
            return VerifyRound(
                "failed", f"health {health.status.value}: {health.reason}", None, state
            )
        elif (current - started).total_seconds() > health_timeout:
            return VerifyRound(
                "failed",
                f"not healthy after {health_timeout:.0f}s: {health.status.value} "
                f"{health.reason}".strip(),
                None,
                state,
            )
        else:
            state["health"] = f"{health.status.value} {health.reason}".strip()
            return VerifyRound(
                "running", f"waiting for health: {state['health']}", current + HEALTH_POLL, state
            )
    env = project.require_environment(environment)
    if not run_checks:
        return VerifyRound("passed", "healthy (a rollback runs no checks)", None, state)
    checks_state: dict[str, Any] = dict(state.get("checks") or {})
    namespace = env.namespace

    def kube() -> AsyncClient:
        return handle.client

    ctx = checks.CheckContext(
        environment=environment,
        namespace=namespace,
        release=release,
        apps=apps,
        run_id=run_id,
        kube=kube,
        health=lambda: health_probe(handle, refs),
        clock=clock,
    )
    finished: list[tuple[str, dict[str, Any]]] = []
    for name in env.verify:
        spec = CheckSpec.from_project(name, project.checks[name])
        previous = checks_state.get(name)
        result, new_state = await step(ctx, spec, previous)
        checks_state[name] = new_state
        state["checks"] = checks_state
        if result.outcome == "running":
            return VerifyRound(
                "running",
                f"check {name}: {result.reason}",
                result.next_check_at or current + HEALTH_POLL,
                state,
                finished,
            )
        if previous is None or not (previous.get("result") or {}).get("outcome"):
            finished.append((name, result.to_json()))
        if result.outcome == "failed":
            return VerifyRound(
                "failed", f"check {name} failed: {result.reason}", None, state, finished
            )
        if result.outcome == "inconclusive":
            return VerifyRound(
                "inconclusive",
                f"check {name} is inconclusive ({result.reason}); a person must pass or fail "
                f"it: shiplane promotion resolve PROMOTION {name} --pass|--fail",
                None,
                state,
                finished,
            )
    return VerifyRound("passed", "healthy and every check passed", None, state, finished)


async def health_probe(handle: ClusterHandle, refs: list[ObjRef]) -> checks.HealthLike:
    health = await check_health(handle.client, refs, policy=HEALTH_POLICY)
    return checks.HealthReport(status=health.status.value, message=health.reason)
