"""The health of an (environment, app) read again from its live objects.

Verification records health while it runs; a promotion stopped half-way (aborted while
Deploying or Verifying) would leave the matrix showing what the last round saw (often
the `Progressing` of the apply). After such an end the apps' health is assessed afresh
from the live objects of their inventory, so the matrix says what the cluster runs; while
they are still Progressing (a rollout the abort did not stop) it is assessed again every
POLL until it settles or `health_timeout` passes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from shiplane.domain.clock import sleep_until
from shiplane.domain.health import HealthStatus
from shiplane.domain.promotion import Promotion
from shiplane.kube.health_wait import check_health
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys

if TYPE_CHECKING:
    from shiplane.engine.clusters import ClusterHandle
    from shiplane.engine.promotions.runtime import Runtime

log = structlog.get_logger(__name__)

POLL = timedelta(seconds=2)

LiveHealthFn = Callable[["ClusterHandle", Sequence[ObjRef]], Awaitable[tuple[HealthStatus, str]]]
"""(cluster handle, objects) -> (health, reason); a unit test may replace it."""


async def assess_live(handle: ClusterHandle, refs: Sequence[ObjRef]) -> tuple[HealthStatus, str]:
    from shiplane.engine.verification import HEALTH_POLICY  # the rules verification uses

    health = await check_health(handle.client, refs, policy=HEALTH_POLICY)
    return health.status, health.reason or health.message


async def refresh_health(rt: Runtime, p: Promotion) -> None:
    """Assess each app of `p` from its live objects and record it, again while it is
    Progressing; a cluster that cannot answer leaves the recorded health as it was (and
    says so in the log)."""
    deadline = rt.now() + timedelta(seconds=rt.health_timeout)
    pending = list(p.apps)
    while pending:
        pending = [app for app in pending if await _refresh_app(rt, p, app)]
        if not pending or rt.now() >= deadline:
            return
        await sleep_until(rt.clock, min(deadline, rt.now() + POLL))


async def _refresh_app(rt: Runtime, p: Promotion, app: str) -> bool:
    """Record the app's live health; True while it is still Progressing."""
    refs = await rt.read(
        lambda s: [ObjRef.from_json(o) for o in deploys.get_inventory(s, p.environment, app) or []]
    )
    if not refs:
        return False
    try:
        status, reason = await rt.live_health(rt.clusters.for_environment(p.environment), refs)
    except Exception as exc:  # any cluster failure: the matrix keeps its last word
        log.warning("health.refresh_failed", environment=p.environment, app=app, error=str(exc))
        return False
    said = f"after the {p.state.value.lower()} promotion {p.id}" + (f": {reason}" if reason else "")
    await rt.write(
        lambda s: deploys.update_deployment(
            s,
            environment=p.environment,
            app=app,
            health=status.value,
            health_reason=said,
            now=rt.now,
        )
    )
    return status is HealthStatus.PROGRESSING
