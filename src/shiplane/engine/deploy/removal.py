"""Step `remove`: the apps removed from an environment in git, in a sync of the whole
environment.

An app with objects in its inventory whose `envs/<env>/<app>/` is gone from git (or that
shiplane.yaml no longer defines) was removed (domain/app_removal.py decides which, and
whether deleting is safe). With prune enabled its objects are deleted with the prune's
own safety (only objects still owned by this environment and app; `shiplane.dev/prune:
"false"` keeps one) and the app leaves the matrix; with prune disabled they stay and the
app is shown as orphaned. Either way the app's run row says what happened and one audit
event (`app.removed` or `app.orphaned`) lists the objects and the git commit.

The step runs after apply and prune, so that an object moved to another app of the
environment is adopted by that app's apply first (and then skipped here, as no longer
owned), never deleted and re-created. A refused removal runs alone: nothing is applied
or deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.config.models import ProjectConfig
from shiplane.domain.app_removal import RemovalPlan, plan_removal
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.gitops.pins import pin_path
from shiplane.kube.prune import PruneResult
from shiplane.kube.refs import ObjRef
from shiplane.store import audit, deploys
from shiplane.store.db import Database

# (environment, app, cluster): the app is no longer deployed there; drift stops watching.
RemovedListener = Callable[[str, str, ClusterHandle], Awaitable[None]]

AUDIT_NAMES = 100  # objects named per list in an audit event (the counts are complete)


@dataclass
class Removal:
    """The removed apps of one environment and their inventories."""

    plan: RemovalPlan
    inventories: dict[str, list[ObjRef]] = field(default_factory=dict)

    @classmethod
    def nothing(cls, environment: str) -> Removal:
        return cls(RemovalPlan(environment))

    @property
    def apps(self) -> list[str]:
        return list(self.plan.apps)

    def only(self, apps: Sequence[str]) -> Removal:
        """The same removal limited to `apps` (those the sync holds)."""
        keep = set(apps)
        plan = self.plan
        narrowed = RemovalPlan(
            plan.environment,
            delete=tuple(a for a in plan.delete if a in keep),
            orphan=tuple(a for a in plan.orphan if a in keep),
            why={a: w for a, w in plan.why.items() if a in keep},
            refusal=plan.refusal if any(a in keep for a in plan.delete) else "",
        )
        return Removal(narrowed, {a: self.inventories[a] for a in narrowed.apps})


async def removal_candidates(
    db: Database, project: ProjectConfig, environment: str, tree: Path
) -> list[str]:
    """The apps that may have been removed from `environment` in `tree`: those with an
    inventory that are undefined or have no directory in git. Cheap (no objects are
    read): what a sync takes exclusively before `find_removal` decides."""

    def read() -> list[str]:
        with db.session(readonly=True) as s:
            return deploys.inventory_apps(s, environment)

    in_git = _in_git(project, environment, tree)
    return [a for a in await asyncio.to_thread(read) if a not in in_git]


def _in_git(project: ProjectConfig, environment: str, tree: Path) -> set[str]:
    """The defined apps that have a directory `envs/<environment>/<app>/` in `tree`."""
    return {a for a in project.apps if (tree / pin_path(environment, a)).parent.is_dir()}


async def find_removal(
    db: Database, project: ProjectConfig, environment: str, tree: Path
) -> Removal:
    """The apps removed from `environment` in `tree` (an exported git commit)."""

    def read() -> tuple[dict[str, list[dict[str, str]]], dict[str, str]]:
        with db.session(readonly=True) as s:
            return deploys.inventories_in(s, environment), deploys.orphaned_in(s, environment)

    inventories, orphaned = await asyncio.to_thread(read)
    refs = {
        app: list(dict.fromkeys(ObjRef.from_json(o) for o in objects))
        for app, objects in inventories.items()
    }
    prune = project.environments[environment].prune
    plan = plan_removal(
        environment,
        {app: len(r) for app, r in refs.items()},
        in_git=_in_git(project, environment, tree),
        defined=set(project.apps),
        orphaned=set(orphaned),
        prune_enabled=prune.enabled,
        max_fraction=prune.max_fraction,
    )
    return Removal(plan, {app: refs[app] for app in plan.apps})


class RemoveStep:
    """Delete (or leave, orphaned) the objects of the removed apps; recorded for those
    apps only, as step `remove` of their run rows."""

    name = "remove"
    recorded = False  # it records itself: the runner records steps of the synced apps

    def __init__(self, removal: Removal, on_removed: RemovedListener | None) -> None:
        self.removal = removal
        self.on_removed = on_removed

    async def run(self, run: DeployRun) -> StepReport:
        plan = self.removal.plan
        apps = self.removal.apps
        if not apps:
            return StepReport()
        if plan.refusal:  # every app of the run fails with the one reason
            raise StepFailed(dict.fromkeys(run.rec.apps, plan.refusal), step=self.name)
        await run.rec.step(self.name, "running", apps=apps)
        texts: dict[str, str] = {}
        for app in plan.delete:
            texts[app] = await self._delete(run, app)
        for app in plan.orphan:
            texts[app] = await self._orphan(run, app)
        await run.rec.step(self.name, "ok", apps=apps, detail=texts, defer=True)
        run.say("; ".join(f"{app}: {text}" for app, text in texts.items()))
        return StepReport()

    async def _delete(self, run: DeployRun, app: str) -> str:
        refs = self.removal.inventories[app]
        why = self.removal.plan.why[app]
        run.rec.assert_held()
        # The environment-wide limit (the plan's refusal) replaces the per-app one, which
        # refuses deleting every object of an app: exactly what removing it means.
        result = await run.handle.applier.prune(
            refs, [], max_fraction=1.0, environment=run.environment, app=app
        )
        if result.refused:  # pragma: no cover - cannot happen with a limit of 100%
            raise StepFailed({app: result.reason}, step=self.name)
        text = f"{why}: {_result_text(result)}"
        commit = run.outcome.git_commit
        details = {**_result_json(result), "reason": why, "commit": commit}
        left = list(result.keep)

        def write(s: Any) -> None:
            if left:  # a failed DELETE: keep it managed; the next sync tries again
                deploys.save_inventory(
                    s, run.environment, app, [r.to_json() for r in left], git_commit=commit
                )
                deploys.mark_orphaned(
                    s,
                    run.environment,
                    app,
                    f"{why}; {len(left)} objects could not be deleted (the next sync of "
                    f"{run.environment} tries again)",
                    now=run.rec.clock,
                )
            else:
                deploys.forget_app(s, run.environment, app)
            self._audit(run, s, "app.removed", app, details)

        await run.rec.write(write)
        outcome = run.outcome.apps[app]
        outcome.pruned, outcome.removed = len(result.deleted), text
        await self._forget(run, app)
        return text

    async def _orphan(self, run: DeployRun, app: str) -> str:
        refs = self.removal.inventories[app]
        why = self.removal.plan.why[app]
        commit = run.outcome.git_commit
        text = f"orphaned: {why}, prune disabled ({len(refs)} objects kept)"
        reason = (
            f"{why} at {(commit or '?')[:12]}, prune disabled: {len(refs)} objects left "
            "in the cluster"
        )
        details = {"reason": why, "commit": commit, "kept": _names(refs), "kept_count": len(refs)}

        def write(s: Any) -> None:
            # The inventory stays: a later prune (or the app's return) still finds them.
            deploys.mark_orphaned(s, run.environment, app, reason, now=run.rec.clock)
            self._audit(run, s, "app.orphaned", app, details)

        await run.rec.write(write)
        run.outcome.apps[app].removed = text
        await self._forget(run, app)
        return text

    async def _forget(self, run: DeployRun, app: str) -> None:
        """Git no longer describes the app: nothing to compare its objects with."""
        if self.on_removed is not None:
            await self.on_removed(run.environment, app, run.handle)

    @staticmethod
    def _audit(run: DeployRun, s: Any, action: str, app: str, details: dict[str, Any]) -> None:
        rec = run.rec
        audit.append_event(
            s,
            actor=rec.actor,
            action=action,
            subject=f"{rec.kind}/{rec.group_id}",
            details=details,
            app=app,
            environment=run.environment,
            now=rec.clock,
        )


def _result_text(result: PruneResult) -> str:
    text = f"deleted {len(result.deleted)}, kept {len(result.skipped_opt_out)} (opt-out)"
    if result.skipped_not_owned:
        text += f", {len(result.skipped_not_owned)} owned by another app now"
    if result.failed:
        ref, error = result.failed[0]
        text += f", {len(result.failed)} could not be deleted ({ref}: {error})"
    return text


def _result_json(result: PruneResult) -> dict[str, Any]:
    return {
        "deleted": _names(result.deleted),
        "deleted_count": len(result.deleted),
        "kept_opt_out": _names(result.skipped_opt_out),
        "not_owned": _names(result.skipped_not_owned),
        "failed": [f"{ref}: {error}" for ref, error in result.failed[:AUDIT_NAMES]],
    }


def _names(refs: Sequence[ObjRef]) -> list[str]:
    return [str(r) for r in refs[:AUDIT_NAMES]]
