"""`canary`: the new version beside the stable one, widened step by step
(docs/strategies.md). The steps run here for both traffic modes; `replicas` mode's
traffic is here too, `gatewayAPI` mode's in canary_gateway.py.

The state (JSON, saved by the engine after every round):

    templates   the new spec of each of the app's Deployments (rendered at the commit)
    stable      {Deployment name: replicas} of the live stable Deployments at the start
    progress    domain.canary.Progress: step, weight, when the step started, requests
    analysis    {"<step>/<check>": the check's saved state}
    since       when the current wait began (readiness after a setWeight, completion)
    route       gatewayAPI mode only (canary_gateway.py)

Every round is safe to repeat: a setWeight applies the same canary again, a pause
counts from its saved start, an analysis steps its checks from their saved state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shiplane.config.models import CanaryConfig
from shiplane.domain import canary as rules
from shiplane.domain.canary import Analysis, Pause, Progress, SetWeight
from shiplane.kube.ownership import OWNER_ANNOTATION
from shiplane.strategies import canary_gateway as gateway
from shiplane.strategies.base import (
    STRATEGIES,
    FinishedStep,
    StrategyConfigError,
    StrategyContext,
    StrategyRequestError,
    StrategyRound,
)
from shiplane.strategies.canary_kube import (
    apply_deployment,
    delete_deployment,
    get_deployment,
    list_canaries,
)
from shiplane.strategies.canary_objects import (
    canary_name,
    canary_object,
    deployments,
    rollout_done,
)
from shiplane.strategies.service_kube import get_service

if TYPE_CHECKING:
    from lightkube import AsyncClient

POLL = timedelta(seconds=1)
"""How soon to look again at replicas becoming ready."""


def _config(config: BaseModel) -> CanaryConfig:
    assert isinstance(config, CanaryConfig)
    return config


class Canary:
    progressive = True

    # --- before the commit ------------------------------------------------------------

    def start(
        self, config: BaseModel, app: str, objects: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        cfg = _config(config)
        if cfg.traffic == "gatewayAPI":
            return {**gateway.start(cfg, app, objects), "progress": Progress().to_json()}
        templates = deployments(objects)
        if not templates:
            raise StrategyConfigError(
                f"a canary in replicas mode needs a Deployment among {app}'s manifests"
            )
        return {"templates": templates, "progress": Progress().to_json()}

    # --- the steps --------------------------------------------------------------------

    async def advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        round_ = await self._advance(ctx, state)
        round_.weight = Progress.from_json(round_.state.get("progress") or {}).weight
        return round_

    async def _advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        cfg = _config(ctx.config)
        steps = cfg.plan()
        state = dict(state)
        now = ctx.clock.now()
        if "stable" not in state:
            stable = await self._stable(ctx, state)
            if stable is None:
                state["stable"] = {}
                state["progress"] = Progress(step=len(steps)).to_json()
                return StrategyRound(
                    "done",
                    f"no stable version of {ctx.app} runs yet: it starts at full size",
                    state,
                    steps=[FinishedStep("canary", "skipped", "no stable version runs yet")],
                )
            state["stable"] = stable
            if "route" in state:
                refusal = await gateway.begin(ctx, state)
                if refusal is not None:
                    failed = FinishedStep("canary", "failed", refusal)
                    return StrategyRound("failed", refusal, state, steps=[failed])
        progress = Progress.from_json(state.get("progress") or {})
        finished: list[FinishedStep] = []
        while not rules.is_done(steps, progress):
            progress = progress.started(now)
            step = steps[progress.step]
            name = f"canary step {progress.step + 1}/{len(steps)}: {rules.describe_step(step)}"
            if progress.skip == progress.step:
                finished.append(FinishedStep(name, "skipped", "skipped by request"))
                progress = progress.next()
                continue
            if isinstance(step, SetWeight):
                ready, note = await self._scale(ctx, state, step.weight)
                if not ready:
                    state["progress"] = progress.to_json()
                    if (now - (progress.step_started_at or now)).total_seconds() > cfg.step_timeout:
                        return StrategyRound(
                            "failed",
                            f"{name}: not ready after {cfg.step_timeout}s: {note}",
                            state,
                            steps=[*finished, FinishedStep(name, "failed", note)],
                        )
                    return StrategyRound("running", f"{name}: {note}", state, now + POLL, finished)
                finished.append(FinishedStep(name, "succeeded", note))
                progress = progress.next(weight=step.weight)
            elif isinstance(step, Pause):
                verdict, until = rules.pause_verdict(step, progress, now)
                if verdict == "wait":
                    state["progress"] = progress.to_json()
                    why = (
                        "paused until resumed (shiplane promotion resume)"
                        if until is None
                        else f"paused until {until.isoformat()}"
                    )
                    return StrategyRound("running", f"{name}: {why}", state, until, finished)
                how = "resumed by request" if progress.resume == progress.step else "waited"
                finished.append(FinishedStep(name, "succeeded", how))
                progress = progress.next()
            else:
                outcome, why, wake = await self._analyse(ctx, state, progress.step, step)
                if outcome == "running":
                    state["progress"] = progress.to_json()
                    return StrategyRound("running", f"{name}: {why}", state, wake, finished)
                if outcome == "failed":
                    state["progress"] = progress.to_json()
                    failed = FinishedStep(name, "failed", why)
                    return StrategyRound(
                        "failed", f"{name}: {why}", state, steps=[*finished, failed]
                    )
                finished.append(FinishedStep(name, "succeeded", why))
                progress = progress.next()
        state["progress"] = progress.to_json()
        return StrategyRound("done", rules.summary(steps, progress), state, steps=finished)

    async def _stable(
        self, ctx: StrategyContext, state: Mapping[str, Any]
    ) -> dict[str, int] | None:
        """Replicas of each live stable Deployment; None when one does not run yet."""
        stable: dict[str, int] = {}
        for template in state.get("templates") or []:
            name = str(template["metadata"]["name"])
            live = await get_deployment(ctx.client, ctx.namespace, name)
            if live is None:
                return None
            stable[name] = int((live.get("spec") or {}).get("replicas", 1))
        return stable

    async def _scale(
        self, ctx: StrategyContext, state: Mapping[str, Any], weight: int
    ) -> tuple[bool, str]:
        """Apply every canary at `weight`; whether all are ready, and what runs."""
        if "route" in state:
            return await gateway.set_weight(ctx, state, weight)
        ready = True
        notes: list[str] = []
        for template in state.get("templates") or []:
            name = str(template["metadata"]["name"])
            stable = int((state.get("stable") or {}).get(name, 1))
            replicas = rules.canary_replicas(stable, weight)
            obj = canary_object(template, replicas, environment=ctx.environment, app=ctx.app)
            await apply_deployment(ctx.client, ctx.namespace, obj)
            live = await get_deployment(ctx.client, ctx.namespace, canary_name(name))
            done = live is not None and rollout_done(live, replicas)
            ready = ready and done
            notes.append(
                f"{canary_name(name)} {replicas} beside {stable} stable "
                f"({rules.share(replicas, stable)}%)" + ("" if done else ", not ready yet")
            )
        return ready, "; ".join(notes)

    async def _analyse(
        self, ctx: StrategyContext, state: dict[str, Any], index: int, step: Analysis
    ) -> tuple[str, str, datetime | None]:
        saved: dict[str, Any] = dict(state.get("analysis") or {})
        passed: list[str] = []
        try:
            for check in step.checks:
                key = f"{index}/{check}"
                # Objects a check creates (a Job) are named from the run id: one per step.
                result, saved[key] = await ctx.analyse(
                    check, f"{ctx.run_id}-s{index}", saved.get(key)
                )
                if result.outcome == "running":
                    return "running", f"check {check}: {result.reason}", result.next_check_at
                if result.outcome != "passed":
                    return "failed", f"check {check} {result.outcome}: {result.reason}", None
                passed.append(check)
        finally:
            state["analysis"] = saved
        return "passed", f"passed: {', '.join(passed)}", None

    # --- the end ----------------------------------------------------------------------

    async def complete(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        """The stable Deployments have the new spec: once they are rolled out, the canary
        goes (until then it still serves beside them)."""
        cfg = _config(ctx.config)
        state = dict(state)
        now = ctx.clock.now()
        since = datetime.fromisoformat(state.setdefault("since", now.isoformat()))
        waiting: list[str] = []
        for template in state.get("templates") or []:
            name = str(template["metadata"]["name"])
            live = await get_deployment(ctx.client, ctx.namespace, name)
            if live is not None and not rollout_done(live):
                waiting.append(name)
        if waiting and (now - since).total_seconds() <= cfg.step_timeout:
            why = f"waiting for {', '.join(waiting)} to roll out the new version"
            return StrategyRound("running", why, state, now + POLL)
        if "route" in state:  # the sync applied git's route: all traffic on stable
            removed = await gateway.remove(ctx, state, restore_route=False)
        else:
            removed = await self.abort(ctx, state)
        return StrategyRound("done", f"the stable version runs the release; {removed}", state)

    async def abort(self, ctx: StrategyContext, state: dict[str, Any]) -> str:
        if "route" in state:
            return await gateway.remove(ctx, state, restore_route=True)
        names = [canary_name(str(t["metadata"]["name"])) for t in state.get("templates") or []]
        gone = [n for n in names if await delete_deployment(ctx.client, ctx.namespace, n)]
        return f"removed {', '.join(gone)}" if gone else "no canary to remove"

    # --- people -----------------------------------------------------------------------

    def summary(self, config: BaseModel, state: Mapping[str, Any]) -> str:
        progress = Progress.from_json(state.get("progress") or {})
        return rules.summary(_config(config).plan(), progress)

    def resume(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        steps = _config(config).plan()
        progress = Progress.from_json(state.get("progress") or {})
        refusal = rules.resume_refusal(steps, progress)
        if refusal is not None:
            raise StrategyRequestError(refusal)
        return {**state, "progress": {**progress.to_json(), "resume": progress.step}}

    def skip(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        steps = _config(config).plan()
        progress = Progress.from_json(state.get("progress") or {})
        refusal = rules.skip_refusal(steps, progress)
        if refusal is not None:
            raise StrategyRequestError(refusal)
        return {**state, "progress": {**progress.to_json(), "skip": progress.step}}

    # --- what a dead process left -----------------------------------------------------

    async def leftovers(self, client: AsyncClient, namespace: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for live in await list_canaries(client, namespace):
            meta = live.get("metadata") or {}
            owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
            if owner:
                found.setdefault(str(owner), []).append(str(meta.get("name")))
        for live in await gateway.leftover_services(client, namespace):
            meta = live.get("metadata") or {}
            owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
            if owner:
                found.setdefault(str(owner), []).append(f"service/{meta.get('name')}")
        return found

    async def remove(self, client: AsyncClient, namespace: str, names: Sequence[str]) -> None:
        """Canary Services (`service/<name>`, gatewayAPI mode) first: the route's weights
        go back to the stable version before the canary Deployments go."""
        for name in names:
            if name.startswith("service/"):
                live = await get_service(client, namespace, name.removeprefix("service/"))
                if live is not None:
                    await gateway.remove_leftover_service(client, namespace, live)
        for name in names:
            if not name.startswith("service/"):
                await delete_deployment(client, namespace, name)


STRATEGIES.register("canary", schema=CanaryConfig, description="a canary widened step by step")(
    Canary()
)
