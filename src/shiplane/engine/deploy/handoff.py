"""Step `handoff`: an environment deployed by a GitOps agent (`deploy.via: flux`,
`argocd`; docs/handoff.md). Instead of apply, prune and health, the pushed commit is
handed to the environment's deploy target: asked to reconcile now, then waited for until
it reports every app ready at the commit (or a later one of the branch), or fails with
the agent's own message. Each app's health and the agent's reason land in its deployment
row, as the health step writes them for Shiplane's own sync.

`hydrate` is the other half: what the commit step writes beside the pins for such an
environment (the rendered objects, where the agent reads them).
"""

from __future__ import annotations

import asyncio
from typing import Any

import yaml

from shiplane.config.models import EnvironmentConfig
from shiplane.domain.clock import Clock
from shiplane.engine.deploy.inventory import remember_inventories
from shiplane.engine.deploy.run import DeployRun, StepReport
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.targets import TARGETS, ContainsCommit, TargetContext, TargetResult, wait_ready

HEADER = "# rendered by Shiplane from the pins beside envs/; do not edit\n"


def target_context(
    environment: str,
    env: EnvironmentConfig,
    client: object,
    clock: Clock,
    contains: ContainsCommit,
) -> TargetContext:
    spec = env.deploy.spec
    return TargetContext(
        environment=environment,
        namespace=env.namespace,
        config=spec,
        client=client,  # type: ignore[arg-type]  # lightkube's AsyncClient
        clock=clock,
        contains=contains,
        timeout=float(getattr(spec, "timeout", 300)),
    )


def hydrate(run: DeployRun) -> dict[str, bytes]:
    """The files the pin commit also writes for a hand-off target: each app's rendered
    objects with Shiplane's ownership markers (deterministic bytes, so the same objects
    make no new commit)."""
    target = TARGETS.get(run.env.deploy.via).plugin
    files: dict[str, bytes] = {}
    for plan in run.plans:
        where = target.hydration(run.environment, plan.app)
        if where is None or plan.pin is None:
            continue
        # With Shiplane's ownership markers, as its own apply sends them: the objects are
        # Shiplane's to diff, verify and (after a move back to `via: shiplane`) prune.
        owned = [mark_owned(clean(o), run.environment, plan.app) for o in plan.objects]
        body = yaml.safe_dump_all(owned, sort_keys=True, default_flow_style=False)
        files[where.path] = (HEADER + body).encode()
    return files


class HandOffStep:
    name = "handoff"
    recorded = True

    def __init__(self, clock: Clock, contains: ContainsCommit, *, wait: bool = True) -> None:
        self.clock = clock
        self.contains = contains
        self.wait = wait

    async def run(self, run: DeployRun) -> StepReport:
        via = run.env.deploy.via
        target = TARGETS.get(via).plugin
        commit = run.head
        assert commit is not None, "the commit (or git) step sets the commit to hand off"
        ctx = target_context(run.environment, run.env, run.handle.client, self.clock, self.contains)
        if not self.wait:
            for app in run.apps:
                await target.request(ctx, app, commit)
            run.say(f"handoff: {via} asked to reconcile {commit[:12]}")
            return StepReport(detail=f"{via} asked to reconcile {commit[:12]}")
        results = await asyncio.gather(*(wait_ready(target, ctx, a, commit) for a in run.apps))
        for app, result in zip(run.apps, results, strict=True):
            await self._record(run, app, result)
        apps = run.outcome.apps
        run.say("handoff: " + ", ".join(f"{a} {apps[a].health}" for a in run.apps))
        return StepReport(
            # Like health: a failure is recorded, not raised; the run finishes as failed
            # with each app's error (the agent's message) and the deployer raises.
            outcome="failed" if run.outcome.errors else "ok",
            detail={a: r.error or r.status.summary for a, r in zip(run.apps, results, strict=True)},
            audit={
                "target": via,
                "commit": commit,
                "revision": {a: r.status.revision for a, r in zip(run.apps, results, strict=True)},
                "health": {a: apps[a].health for a in run.apps},
            },
        )

    async def _record(self, run: DeployRun, app: str, result: TargetResult) -> None:
        outcome = run.outcome.apps[app]
        status = result.status
        outcome.objects = len(status.inventory)
        outcome.health = status.health.value
        outcome.health_reason = result.error or status.summary
        if result.error is not None:
            outcome.error = result.error
        plan = next(p for p in run.plans if p.app == app)
        # What the cluster runs changes only once the agent applied the commit (a build
        # failure leaves the previous release running).
        applied: dict[str, Any] = (
            {
                "release_id": plan.pin.release if plan.pin is not None else None,
                "git_commit": run.outcome.git_commit,
                "orphaned": None,
            }
            if status.sync == "Synced"
            else {}
        )
        if status.sync == "Synced":
            # What verification's health reads: the objects the agent applied for the
            # app (those Shiplane rendered; after a sync without a render, the agent's
            # inventory, which for an environment-wide Kustomization has every app's).
            refs = [ObjRef.of(o) for o in plan.objects] or [
                ObjRef(e.api_version, e.kind, e.namespace or "", e.name) for e in status.inventory
            ]
            await remember_inventories(run.rec, {app: refs}, run.outcome.git_commit)
        await run.rec.write(
            lambda s: deploys.update_deployment(
                s,
                environment=run.environment,
                app=app,
                sync_status=status.sync,
                sync_detail=None,  # drifted fields are the agent's to show
                health=outcome.health,
                health_reason=outcome.health_reason,
                **applied,
                now=run.rec.clock,
            )
        )
