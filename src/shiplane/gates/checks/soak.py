"""`soak`: pass once a duration has gone by (the context's clock), staying healthy.

Resumable: the start time is in the state, so a restart continues the same soak.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shiplane.config.durations import format_duration
from shiplane.config.models import SoakCheckConfig
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    Measurement,
    Progress,
    from_iso,
    to_iso,
)


class SoakCheck(Check[SoakCheckConfig]):
    kind = "soak"

    async def step(
        self, ctx: CheckContext, name: str, config: SoakCheckConfig, state: dict[str, Any]
    ) -> Progress:
        now = ctx.clock.now()
        state.setdefault("startedAt", to_iso(now))
        end = from_iso(state["startedAt"]) + timedelta(seconds=config.duration)
        watch_health = config.require_healthy and ctx.health is not None
        measurements: list[Measurement] = []
        if watch_health and ctx.health is not None:
            report = await ctx.health()
            status = str(report.status)
            if status == "Degraded":
                measurements.append(Measurement(now, status, "failed", report.message))
                elapsed = format_duration(int((now - from_iso(state["startedAt"])).total_seconds()))
                return Progress(
                    "failed",
                    f"degraded after {elapsed} of a {format_duration(config.duration)} soak: "
                    f"{report.message or 'no message'}",
                    state,
                    measurements,
                )
        if now >= end:
            measurements.append(Measurement(now, config.duration, "passed", "soak complete"))
            return Progress(
                "passed", f"soaked for {format_duration(config.duration)}", state, measurements
            )
        next_at = min(end, now + timedelta(seconds=config.interval)) if watch_health else end
        left = format_duration(max(1, int((end - now).total_seconds())))
        return Progress("running", f"soaking, {left} left", state, measurements, None, next_at)


CHECKS.register(
    "soak", schema=SoakCheckConfig, description="a healthy period measured with the clock"
)(SoakCheck())
