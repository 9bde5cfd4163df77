"""`blueGreen`: the new version beside the old behind a preview Service; the checks run
against the preview; then the active Service switches to it; the old version is kept
for `scaleDownDelay` (an abort switches back at once), then the stable Deployment gets
the new spec and the preview goes (docs/strategies.md).

The state (JSON, saved by the engine after every round):

    templates   the new spec of each of the app's Deployments
    services    {"active": name, "preview": name, "objects": {name: rendered Service}}
    stable      {Deployment name: replicas} of the live stable Deployments at the start
    phase       preview -> analysis -> approval -> switched (-> done)
    analysis    {check: its saved state}
    since       when the current phase began (readiness, the scale-down delay)
    resume      a person resumed (autoPromote: false)

A Service is pointed at the new pods by one selector key, `shiplane.dev/track:
preview` (service_kube.set_selector_key); removing it gives back the selector git says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shiplane.config.models import BlueGreenConfig
from shiplane.kube.ownership import OWNER_ANNOTATION
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
    TRACK_LABEL,
    deployments,
    rollout_done,
    services,
    track_object,
)
from shiplane.strategies.service_kube import (
    apply_service,
    get_service,
    list_services,
    set_selector_key,
)

if TYPE_CHECKING:
    from lightkube import AsyncClient

TRACK = "preview"
POLL = timedelta(seconds=1)
STEP_TIMEOUT = 600
"""How long the preview (and, at the end, the stable Deployments) may take to be ready."""


def _config(config: BaseModel) -> BlueGreenConfig:
    assert isinstance(config, BlueGreenConfig)
    return config


def _name(template: Mapping[str, Any]) -> str:
    return str(template["metadata"]["name"])


class BlueGreen:
    progressive = True

    def start(
        self, config: BaseModel, app: str, objects: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        cfg = _config(config)
        templates = deployments(objects)
        if not templates:
            raise StrategyConfigError(f"blueGreen needs a Deployment among {app}'s manifests")
        rendered = services(objects)
        active, preview = cfg.active_service or app, cfg.preview_service
        missing = [name for name in (active, preview) if name not in rendered]
        if missing:
            raise StrategyConfigError(
                f"blueGreen needs the Services {active!r} (active) and {preview!r} (preview) "
                f"among {app}'s manifests; missing: {', '.join(missing)} "
                f"(found: {', '.join(rendered) or 'none'})"
            )
        return {
            "templates": templates,
            "services": {
                "active": active,
                "preview": preview,
                "objects": {active: rendered[active], preview: rendered[preview]},
            },
            "phase": "preview",
        }

    async def advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        cfg = _config(ctx.config)
        state = dict(state)
        now = ctx.clock.now()
        if "stable" not in state:
            stable = await self._stable(ctx, state)
            if stable is None:
                state["stable"], state["phase"] = {}, "done"
                return StrategyRound(
                    "done",
                    f"no stable version of {ctx.app} runs yet: it starts at full size",
                    state,
                    steps=[FinishedStep("blueGreen", "skipped", "no stable version runs yet")],
                    weight=100,
                )
            state["stable"] = stable
        since = datetime.fromisoformat(state.setdefault("since", now.isoformat()))
        finished: list[FinishedStep] = []
        svc = state["services"]
        if state["phase"] == "preview":
            ready, note = await self._preview(ctx, state)
            if not ready:
                if (now - since).total_seconds() > STEP_TIMEOUT:
                    failed = FinishedStep("blueGreen preview", "failed", note)
                    return StrategyRound(
                        "failed", f"preview not ready: {note}", state, steps=[failed]
                    )
                return StrategyRound("running", f"preview: {note}", state, now + POLL, weight=0)
            finished.append(FinishedStep("blueGreen preview", "succeeded", note))
            state.update(phase="analysis", since=now.isoformat())
        if state["phase"] == "analysis":
            outcome, why, wake = await self._analyse(ctx, state, cfg.analysis)
            if outcome == "running":
                return StrategyRound("running", f"analysis: {why}", state, wake, finished, 0)
            if outcome == "failed":
                failed = FinishedStep("blueGreen analysis", "failed", why)
                return StrategyRound("failed", f"analysis: {why}", state, steps=[*finished, failed])
            if cfg.analysis:
                finished.append(FinishedStep("blueGreen analysis", "succeeded", why))
            state.update(phase="approval", since=now.isoformat())
        if state["phase"] == "approval":
            if not cfg.auto_promote and not state.get("resume"):
                preview = svc["preview"]
                why = f"the preview ({preview}) waits to be resumed (shiplane promotion resume)"
                return StrategyRound("running", why, state, None, finished, 0)
            await set_selector_key(ctx.client, ctx.namespace, svc["active"], TRACK_LABEL, TRACK)
            note = f"{svc['active']} selects the new version"
            finished.append(FinishedStep("blueGreen switch", "succeeded", note))
            state.update(phase="switched", since=now.isoformat())
            since = now
        if state["phase"] == "switched":
            until = since + timedelta(seconds=cfg.scale_down_delay)
            if now < until and not state.get("skipDelay"):
                why = f"switched; the old version is kept until {until.isoformat()}"
                return StrategyRound("running", why, state, until, finished, 100)
            finished.append(FinishedStep("blueGreen scale-down delay", "succeeded", "waited"))
            state.update(phase="done", since=now.isoformat())
        return StrategyRound(
            "done", "switched to the new version", state, steps=finished, weight=100
        )

    async def _stable(
        self, ctx: StrategyContext, state: Mapping[str, Any]
    ) -> dict[str, int] | None:
        stable: dict[str, int] = {}
        for template in state.get("templates") or []:
            live = await get_deployment(ctx.client, ctx.namespace, _name(template))
            if live is None:
                return None
            stable[_name(template)] = int((live.get("spec") or {}).get("replicas", 1))
        return stable

    async def _preview(self, ctx: StrategyContext, state: Mapping[str, Any]) -> tuple[bool, str]:
        """The preview Deployments at the stable's size, and the preview Service on them."""
        svc = state["services"]
        ready = True
        notes: list[str] = []
        for template in state.get("templates") or []:
            replicas = int(state["stable"].get(_name(template), 1))
            obj = track_object(
                template, replicas, environment=ctx.environment, app=ctx.app, track=TRACK
            )
            await apply_deployment(ctx.client, ctx.namespace, obj)
            live = await get_deployment(ctx.client, ctx.namespace, obj["metadata"]["name"])
            done = live is not None and rollout_done(live, replicas)
            ready = ready and done
            notes.append(
                f"{obj['metadata']['name']} {replicas}" + ("" if done else " not ready yet")
            )
        preview = svc["preview"]
        if await get_service(ctx.client, ctx.namespace, preview) is None:
            # New with this release: it exists before the sync so the checks can reach it.
            await apply_service(ctx.client, ctx.namespace, svc["objects"][preview])
        await set_selector_key(ctx.client, ctx.namespace, preview, TRACK_LABEL, TRACK)
        return ready, "; ".join(notes) + f"; {preview} selects it"

    async def _analyse(
        self, ctx: StrategyContext, state: dict[str, Any], checks: Sequence[str]
    ) -> tuple[str, str, datetime | None]:
        saved: dict[str, Any] = dict(state.get("analysis") or {})
        try:
            for check in checks:
                result, saved[check] = await ctx.analyse(
                    check, f"{ctx.run_id}-bg", saved.get(check)
                )
                if result.outcome == "running":
                    return "running", f"check {check}: {result.reason}", result.next_check_at
                if result.outcome != "passed":
                    return "failed", f"check {check} {result.outcome}: {result.reason}", None
        finally:
            state["analysis"] = saved
        return "passed", f"passed: {', '.join(checks)}" if checks else "no checks", None

    async def complete(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        """After the sync gave the stable Deployments the new spec: once they are rolled
        out, both Services select by git's selectors again and the preview goes."""
        state = dict(state)
        now = ctx.clock.now()
        since = datetime.fromisoformat(state.setdefault("completing", now.isoformat()))
        waiting = []
        for template in state.get("templates") or []:
            live = await get_deployment(ctx.client, ctx.namespace, _name(template))
            if live is not None and not rollout_done(live):
                waiting.append(_name(template))
        if waiting and (now - since).total_seconds() <= STEP_TIMEOUT:
            # The sync applied git's selector (a Service's selector is one atomic field):
            # the active Service stays on the new pods until the stable ones are new too.
            active = state["services"]["active"]
            await set_selector_key(ctx.client, ctx.namespace, active, TRACK_LABEL, TRACK)
            why = f"waiting for {', '.join(waiting)} to roll out the new version"
            return StrategyRound("running", why, state, now + POLL)
        removed = await self.abort(ctx, state)
        return StrategyRound("done", f"the stable version runs the release; {removed}", state)

    async def abort(self, ctx: StrategyContext, state: dict[str, Any]) -> str:
        """Switch back (the active Service selects the stable version again), then remove
        the preview: the stable Deployments were never changed."""
        svc = state.get("services") or {}
        for name in (svc.get("active"), svc.get("preview")):
            if name:
                await set_selector_key(ctx.client, ctx.namespace, name, TRACK_LABEL, None)
        gone = [
            name
            for name in (f"{_name(t)}-{TRACK}" for t in state.get("templates") or [])
            if await delete_deployment(ctx.client, ctx.namespace, name)
        ]
        back = f"{svc.get('active')} selects the stable version"
        return f"{back}; removed {', '.join(gone)}" if gone else back

    def summary(self, config: BaseModel, state: Mapping[str, Any]) -> str:
        phase = state.get("phase", "preview")
        words = {
            "preview": "starting the preview",
            "analysis": "checking the preview",
            "approval": "the preview waits to be resumed",
            "switched": "switched, keeping the old version",
            "done": "switched",
        }
        return f"blueGreen: {words.get(str(phase), str(phase))}"

    def resume(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        if state.get("phase") not in ("approval", "preview", "analysis"):
            raise StrategyRequestError("the blue-green switch has happened already")
        return {**state, "resume": True}

    def skip(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        if state.get("phase") != "switched":
            raise StrategyRequestError(
                "only the scale-down delay can be skipped (resume the switch instead)"
            )
        return {**state, "skipDelay": True}

    async def leftovers(self, client: AsyncClient, namespace: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for live in await list_canaries(client, namespace, TRACK):
            meta = live.get("metadata") or {}
            owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
            if owner:
                found.setdefault(str(owner), []).append(str(meta.get("name")))
        return found

    async def remove(self, client: AsyncClient, namespace: str, names: Sequence[str]) -> None:
        """Switch the owner's Services back first (a Service left on the preview's track
        would select nothing once the preview is gone), then delete the previews."""
        owners = set()
        for name in names:
            live = await get_deployment(client, namespace, name)
            annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
            owners.add(annotations.get(OWNER_ANNOTATION))
        for service in await list_services(client, namespace):
            meta = service.get("metadata") or {}
            selector = (service.get("spec") or {}).get("selector") or {}
            owner = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
            if selector.get(TRACK_LABEL) == TRACK and owner in owners:
                await set_selector_key(client, namespace, str(meta["name"]), TRACK_LABEL, None)
        for name in names:
            await delete_deployment(client, namespace, name)


STRATEGIES.register(
    "blueGreen", schema=BlueGreenConfig, description="a preview, then a switch of the Service"
)(BlueGreen())
