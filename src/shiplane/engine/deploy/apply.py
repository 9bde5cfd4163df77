"""Step `apply`: server-side apply of every app's objects, in dependsOn order.

Apps of one dependency level are applied concurrently; a level with a failing app stops
the run before the next level. After each app's apply, its deployment row says Synced
and the drift supervisor (through `run.on_applied`) learns what was sent.
"""

from __future__ import annotations

import asyncio

from shiplane.config.models import ProjectConfig
from shiplane.domain.health import HealthStatus
from shiplane.engine.deploy.inventory import remember_inventories
from shiplane.engine.deploy.plan import AppPlan, dependency_levels
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.text import describe
from shiplane.engine.faults import fault_point
from shiplane.kube.apply import ApplyError
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.store import deploys
from shiplane.store.leases import LeaseLostError


class ApplyStep:
    name = "apply"
    recorded = True

    def __init__(self, project: ProjectConfig) -> None:
        self.project = project

    async def run(self, run: DeployRun) -> StepReport:
        by_app = {p.app: p for p in run.plans}
        for level in dependency_levels(self.project, list(by_app)):
            results = await asyncio.gather(
                *(apply_plan(run, by_app[a]) for a in level), return_exceptions=True
            )
            for result in results:
                if isinstance(result, LeaseLostError):
                    raise result  # not an apply failure: another replica owns the work now
            errors = {a: describe(r) for a, r in zip(level, results, strict=True) if r}
            if errors:
                raise StepFailed(errors)
            fault_point("deploy.during_apply")
        apps = run.outcome.apps
        return StepReport(
            detail={a: f"{o.changed} of {o.objects} changed" for a, o in apps.items()},
            audit={"changed": {a: o.changed for a, o in apps.items()}},
        )


async def apply_plan(run: DeployRun, plan: AppPlan) -> None:
    rec = run.rec
    rec.assert_held()  # checked right before each app's apply: never apply stale
    try:
        result = await run.handle.applier.apply(
            plan.objects,
            environment=run.environment,
            app=plan.app,
            immutable_policy=plan.config.immutable_field_policy,
            live_versions=plan.live_versions,
        )
    except ApplyError as exc:
        # Remember what did get applied, so a later prune can still find it.
        await remember_inventories(
            rec, {plan.app: exc.result.applied}, run.outcome.git_commit, merge=True
        )
        raise
    fault_point("deploy.after_apply")
    app_outcome = run.outcome.apps[plan.app]
    app_outcome.objects = len(result.applied)
    app_outcome.changed = len(result.changed)
    await rec.write(
        lambda s: deploys.update_deployment(
            s,
            environment=run.environment,
            app=plan.app,
            release_id=plan.pin.release if plan.pin is not None else None,
            git_commit=run.outcome.git_commit,
            sync_status="Synced",
            sync_detail=None,
            **(
                {"health": HealthStatus.PROGRESSING.value, "health_reason": "applied"}
                if result.changed
                else {}
            ),
            now=rec.clock,
        )
    )
    if run.on_applied is not None:
        # Drift compares with what was sent, ownership markers included.
        sent = [mark_owned(clean(o), run.environment, plan.app) for o in plan.objects]
        await run.on_applied(run.environment, plan.app, run.handle, sent, run.outcome.git_commit)
