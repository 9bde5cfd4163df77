"""Step `apply`: server-side apply of every app's objects, in dependsOn order.

Apps of one dependency level are applied concurrently; a level with a failing app stops
the run before the next level. After each level, the deployment rows of its applied apps
say Synced (one transaction) and the drift supervisor (through `run.on_applied`) learns
what was sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shiplane.domain.health import HealthStatus
from shiplane.engine.deploy.inventory import remember_inventories
from shiplane.engine.deploy.known_applied import sent_digest
from shiplane.engine.deploy.outcome import AppOutcome
from shiplane.engine.deploy.plan import AppPlan, dependency_levels
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.text import describe
from shiplane.engine.faults import fault_point
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.kube.apply_results import ApplyError, ApplyResult
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import answers_live
from shiplane.store import deploys
from shiplane.store.lease_fencing import LeaseLostError


class ApplyStep:
    name = "apply"
    recorded = True

    async def run(self, run: DeployRun) -> StepReport:
        by_app = {p.app: p for p in run.plans}
        assert run.project is not None, "the deployer sets the run's project"
        for level in dependency_levels(run.project, list(by_app)):
            results = await asyncio.gather(
                *(apply_plan(run, by_app[a]) for a in level), return_exceptions=True
            )
            for result in results:
                if isinstance(result, LeaseLostError):
                    raise result  # not an apply failure: another replica owns the work now
            applied: dict[str, ApplyResult] = {}
            errors: dict[str, str] = {}
            for app, result in zip(level, results, strict=True):
                if isinstance(result, ApplyResult):
                    applied[app] = result
                else:
                    errors[app] = describe(result)
            # The level's deployment rows in one transaction, also when an app failed.
            await record_applied(run, [(by_app[a], r) for a, r in applied.items()])
            if errors:
                raise StepFailed(errors)
            fault_point("deploy.during_apply")
        apps = run.outcome.apps
        return StepReport(
            detail={a: _applied_text(o) for a, o in apps.items()},
            audit={"changed": {a: o.changed for a, o in apps.items()}},
        )


async def apply_plan(run: DeployRun, plan: AppPlan) -> ApplyResult:
    """Apply one app's objects; what was applied. On failure, what did get applied is
    added to the app's inventory first, so that a later prune can still find it."""
    rec = run.rec
    rec.assert_held()  # checked right before each app's apply: never apply stale
    try:
        result = await run.handle.applier.apply(
            plan.objects,
            environment=run.environment,
            app=plan.app,
            immutable_policy=plan.config.immutable_field_policy,
            live_versions=plan.live_versions,
            unchanged=unchanged_objects(run, plan),
        )
    except ApplyError as exc:
        await remember_inventories(
            rec, {plan.app: exc.result.applied}, run.outcome.git_commit, merge=True
        )
        raise
    fault_point("deploy.after_apply")
    remember_in_effect(run, plan, result)
    app_outcome = run.outcome.apps[plan.app]
    app_outcome.objects = len(result.applied)
    app_outcome.changed = len(result.changed)
    app_outcome.skipped = len(result.skipped)
    return result


def _applied_text(app: AppOutcome) -> str:
    text = f"{app.changed} of {app.objects} changed"
    if app.skipped:
        text += f" ({app.skipped} not sent: unchanged)"
    return text


def unchanged_objects(run: DeployRun, plan: AppPlan) -> list[ObjRef]:
    """The objects whose dry-run answered exactly the live object the watch cache holds
    now (so still unchanged since the dry-run), and those not dry-run because they are
    in effect as sent: applying them would write nothing."""
    live, predicted = run.live_objects, plan.predicted
    if live is None or not predicted:
        return []
    cluster = run.handle.name
    return [
        ref
        for ref, answer in predicted.items()
        if ref in plan.in_effect or answers_live(answer, live(cluster, ref))
    ]


def remember_in_effect(run: DeployRun, plan: AppPlan, result: ApplyResult) -> None:
    """What is in effect after this apply, for the next deploy's dry-run to skip: each
    object sent (its version after the apply) or left unsent (its live version)."""
    known = run.known
    if known is None:
        return
    cluster, versions = run.handle.name, plan.live_versions or {}
    for obj in plan.objects:
        ref = ObjRef.of(obj)
        version = result.versions.get(ref) or (versions.get(ref) if ref in result.skipped else None)
        known.remember(cluster, ref, sent_digest(obj, run.environment, plan.app), version)


async def record_applied(run: DeployRun, applied: list[tuple[AppPlan, ApplyResult]]) -> None:
    """Mark the apps Synced (Progressing when something changed), then tell the drift
    supervisor what was sent."""
    if not applied:
        return

    def fn(s: Any) -> None:
        for plan, result in applied:
            progressing: dict[str, Any] = (
                {"health": HealthStatus.PROGRESSING.value, "health_reason": "applied"}
                if result.changed
                else {}
            )
            deploys.update_deployment(
                s,
                environment=run.environment,
                app=plan.app,
                release_id=plan.pin.release if plan.pin is not None else None,
                git_commit=run.outcome.git_commit,
                sync_status="Synced",
                sync_detail=None,
                orphaned=None,  # back in git (if it was removed): part of it again
                **progressing,
                now=run.rec.clock,
            )

    await run.rec.write(fn)
    if run.on_applied is not None:
        for plan, _ in applied:
            # Drift compares with what was sent, ownership markers included.
            sent = [mark_owned(clean(o), run.environment, plan.app) for o in plan.objects]
            await run.on_applied(
                run.environment, plan.app, run.handle, sent, run.outcome.git_commit
            )
