"""Gate `soak`: the release must have run verified upstream for a while.

`soak: 30m` on prod (with `after: [staging]`) holds promotions *into* prod until staging
verified the release at least 30 minutes ago. With `after: {any: [...]}` one soaked
upstream is enough. The gate waits with `next_check_at` = verified_at + soak, so the
engine wakes exactly then. The reason names that instant, never a remaining time (which
would be stale as soon as it is stored); `explain` counts down from the time it is read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shiplane.config.durations import format_duration
from shiplane.config.models import ProjectConfig
from shiplane.gates.context import GateContext
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome


class SoakGateConfig(BaseModel):
    """Soak time per upstream environment (seconds; the soak of the environment promoted
    into, for each of its upstreams) and whether all or any count."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["all", "any"] = "all"
    upstream: dict[str, int] = Field(default_factory=dict)


class SoakGate(Gate[SoakGateConfig]):
    """The release must have been verified upstream for at least the soak duration."""

    name = "soak"
    schema = SoakGateConfig

    def configure(self, project: ProjectConfig, environment: str) -> SoakGateConfig | None:
        target = project.environments[environment]
        if not target.soak or not target.after.environments:
            return None  # nothing upstream to have soaked in
        soaks = {env: target.soak for env in target.after.environments}
        return SoakGateConfig(mode=target.after.mode, upstream=soaks)

    def evaluate(self, ctx: GateContext, config: SoakGateConfig) -> GateResult:
        now = ctx.now()
        apps = ctx.promotion.apps
        # Per upstream environment: when the whole release has soaked there (None: not
        # verified there yet, so the upstream gate is the one to explain it).
        soaked_at: dict[str, datetime | None] = {}
        for env, seconds in config.upstream.items():
            times = [ctx.upstream_verified.get(env, {}).get(app) for app in apps]
            verified = [t for t in times if t is not None]
            if len(verified) < len(times):
                soaked_at[env] = None
            else:
                soaked_at[env] = max(verified) + timedelta(seconds=seconds)
        inputs: dict[str, object] = {
            "mode": config.mode,
            "soak": {env: format_duration(s) for env, s in config.upstream.items()},
            "soaked_at": soaked_at,
            "now": now,
        }
        done = [env for env, at in soaked_at.items() if at is not None and at <= now]
        if (config.mode == "any" and done) or (
            config.mode == "all" and len(done) == len(soaked_at)
        ):
            return GateResult(self.name, Outcome.PASS, f"soaked in {', '.join(done)}", inputs)

        waiting = {env: at for env, at in soaked_at.items() if at is not None and at > now}
        unverified = [env for env, at in soaked_at.items() if at is None]
        if config.mode == "all":
            if unverified:
                return self._not_verified(unverified, inputs)
            env, until = max(waiting.items(), key=lambda item: item[1])
        else:
            if not waiting:
                return self._not_verified(unverified, inputs)
            env, until = min(waiting.items(), key=lambda item: item[1])
        reason = (
            f"soaking in {env}: {format_duration(config.upstream[env])} after verification, "
            f"until {until:%Y-%m-%d %H:%M:%S} UTC"
        )
        return GateResult(
            self.name,
            Outcome.WAIT,
            reason,
            inputs,
            next_check_at=until,
            unblock_hint="nothing to do: it continues by itself when the soak time is over",
        )

    def _not_verified(self, envs: list[str], inputs: dict[str, object]) -> GateResult:
        return GateResult(
            self.name,
            Outcome.WAIT,
            f"soak has not started: not yet verified in {', '.join(envs)}",
            inputs,
            unblock_hint="the soak starts when the release is verified upstream",
        )


SOAK = register(SoakGate())
