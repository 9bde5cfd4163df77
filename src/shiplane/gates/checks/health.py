"""`health`: the deploy engine's health of the environment's apps, with a deadline.

The probe itself is the deploy engine's (`CheckContext.health`); this plugin only polls
it: Healthy passes, Degraded fails at once, anything else waits until `timeout`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shiplane.config.durations import format_duration
from shiplane.config.models import HealthCheckConfig
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    CheckSetupError,
    Measurement,
    MeasurementOutcome,
    Progress,
    from_iso,
    to_iso,
)


class HealthCheck(Check[HealthCheckConfig]):
    kind = "health"

    async def step(
        self, ctx: CheckContext, name: str, config: HealthCheckConfig, state: dict[str, Any]
    ) -> Progress:
        if ctx.health is None:
            raise CheckSetupError("the health check needs a health probe in its context")
        now = ctx.clock.now()
        state.setdefault("startedAt", to_iso(now))
        report = await ctx.health()
        status, message = str(report.status), report.message
        detail = f"{status}: {message}" if message else status
        outcome: MeasurementOutcome = (
            "passed"
            if status == "Healthy"
            else "failed"
            if status == "Degraded"
            else "inconclusive"
        )
        measurement = Measurement(now, status, outcome, message)
        if status == "Healthy":
            return Progress("passed", "healthy", state, [measurement])
        if status == "Degraded":
            return Progress("failed", f"degraded: {message or 'no message'}", state, [measurement])
        deadline = from_iso(state["startedAt"]) + timedelta(seconds=config.timeout)
        if now >= deadline:
            return Progress(
                "failed",
                f"not healthy within {format_duration(config.timeout)}: {detail}",
                state,
                [measurement],
            )
        next_at = min(deadline, now + timedelta(seconds=config.interval))
        return Progress(
            "running", f"waiting for health: {detail}", state, [measurement], None, next_at
        )


CHECKS.register(
    "health", schema=HealthCheckConfig, description="the deploy engine's health, with a deadline"
)(HealthCheck())
