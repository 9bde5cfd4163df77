"""Step `health`: wait, with a deadline, until every app's objects are healthy (or one
is Degraded); each app's health lands in its deployment row as soon as it is known."""

from __future__ import annotations

import asyncio

from shiplane.domain.health import HealthStatus
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepReport
from shiplane.kube.health import HealthPolicy
from shiplane.kube.health_wait import HealthTimeout, wait_healthy
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys

# Local and many on-premise clusters never get LoadBalancer addresses.
HEALTH_POLICY = HealthPolicy(lb_address_optional=True)


class HealthStep:
    name = "health"
    recorded = True

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    async def run(self, run: DeployRun) -> StepReport:
        await asyncio.gather(*(self._wait_one(run, p) for p in run.plans))
        apps = run.outcome.apps
        run.say("health: " + ", ".join(f"{a} {o.health}" for a, o in apps.items()))
        return StepReport(
            # A failed health is recorded, not raised: the run then finishes as failed
            # with each app's error, and the deployer raises.
            outcome="failed" if run.outcome.errors else "ok",
            detail={a: f"{o.health} {o.health_reason}".strip() for a, o in apps.items()},
            audit={"health": {a: o.health for a, o in apps.items()}},
        )

    async def _wait_one(self, run: DeployRun, plan: AppPlan) -> None:
        refs = [ObjRef.of(o) for o in plan.objects]
        app_outcome = run.outcome.apps[plan.app]
        try:
            health = await wait_healthy(
                run.handle.client, refs, timeout=self.timeout, policy=HEALTH_POLICY
            )
            status, reason = health.status, health.reason or health.message
        except HealthTimeout as exc:
            status = exc.health.status
            reason = f"not healthy after {self.timeout:.0f}s: {exc.health.reason}"
            app_outcome.error = reason
        app_outcome.health, app_outcome.health_reason = status.value, reason
        if status is not HealthStatus.HEALTHY and app_outcome.error is None:
            app_outcome.error = f"{status.value}: {reason}"
        await run.rec.write(
            lambda s: deploys.update_deployment(
                s,
                environment=run.environment,
                app=plan.app,
                health=status.value,
                health_reason=reason,
                now=run.rec.clock,
            )
        )
