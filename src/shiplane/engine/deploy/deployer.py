"""The deploy primitive: put a release into an environment, GitOps-style, and know
truthfully whether it is healthy.

deploy = git -> render (HEAD + the new pins) -> dry-run -> commit -> render (the commit)
         -> apply -> prune -> health
sync   = render (HEAD) -> dry-run -> apply -> prune [-> remove] -> health
         (`remove`: the apps removed from git, in a sync of the whole environment)

The `Deployer` only plans, takes the apps exclusively and runs the sequence (which steps:
sequence.py); each step is a module of this package working on one `DeployRun`. Every
step is recorded as it starts and ends (run rows and audit events), and every step is
safe to repeat, so a deploy that died half-way is resumed by running it again
(docs/durability.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import structlog

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy.contents import PinnedContentSource
from shiplane.engine.deploy.errors import (
    DeployError,
    DeployRequestError,
)
from shiplane.engine.deploy.exclusive import AppExclusion, waiting_note
from shiplane.engine.deploy.git_sync import head_and_tree
from shiplane.engine.deploy.known_applied import KnownApplied
from shiplane.engine.deploy.outcome import AppOutcome, DeployOutcome
from shiplane.engine.deploy.plan import (
    AppPlan,
    check_environment,
    release_plans,
    tree_plans,
)
from shiplane.engine.deploy.recorder import RunRecorder
from shiplane.engine.deploy.removal import (
    Removal,
    RemovedListener,
    RemoveStep,
    find_removal,
    removal_candidates,
)
from shiplane.engine.deploy.render import render_plan
from shiplane.engine.deploy.run import (
    AppliedListener,
    DeployRun,
    LiveObjects,
    Progress,
)
from shiplane.engine.deploy.runner import run_steps
from shiplane.engine.deploy.sequence import Sequences
from shiplane.engine.deploy.strategy_check import Inspect
from shiplane.engine.leases import Fence, Fences, HeldLease, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.project_source import ProjectSource
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord

log = structlog.get_logger(__name__)

Kind = Literal["deploy", "sync", "rollback"]


def new_group_id() -> str:
    return f"dep-{uuid.uuid4().hex[:16]}"


class Deployer:
    def __init__(
        self,
        db: Database,
        workspace: GitWorkspace,
        project: ProjectConfig | ProjectSource,
        clusters: ClusterPool,
        *,
        health_timeout: float = 300.0,
        clock: Clock | None = None,
        on_applied: AppliedListener | None = None,
        metrics: EngineMetrics | None = None,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self.db = db
        self.workspace = workspace
        # The project in force, read once at the start of each deploy or sync.
        self.source = ProjectSource.of(project)
        self.clusters = clusters
        self.health_timeout = health_timeout
        self.clock: Clock = clock or SystemClock()
        # Told after every app's apply, and asked for cached live objects; the drift
        # supervisor sets both (engine/drift.py).
        self.on_applied = on_applied
        self.live_objects: LiveObjects | None = None
        # What this process sent and saw in effect: with `live_objects`, objects that
        # nobody changed since are neither dry-run nor applied again (known_applied.py).
        self.known_applied = KnownApplied()
        # Told when an app removed from git is no longer deployed (drift stops watching).
        self.on_removed: RemovedListener | None = None
        self.metrics = metrics
        self.leases = leases
        self._exclusion = AppExclusion(leases)
        # Pinned charts and config commits, for every render (deploys, syncs, diffs).
        self.contents = PinnedContentSource(workspace, self.source)
        self._steps = Sequences(workspace, health_timeout, self.clock)

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    # --- public API -----------------------------------------------------------------------

    def prepare(self) -> None:
        """A deploy may follow soon: fetch git now (its `git` step takes the result
        when it starts within `git_sync.AHEAD_WITHIN`)."""
        self.workspace.sync_ahead()

    async def deploy(
        self,
        release: ReleaseRecord,
        environment: str,
        *,
        actor: str,
        apps: Sequence[str] | None = None,
        promotion_id: str | None = None,
        kind: Kind = "deploy",
        wait: bool = True,
        progress: Progress | None = None,
        fence: Fence | None = None,
        to_cluster: bool = True,
        inspect: Inspect | None = None,
        propose: str | None = None,
        merged: str | None = None,
    ) -> DeployOutcome:
        """Commit `release`'s pins for `environment` and sync the cluster to that commit.
        With `fence` (a promotion's lease), every write and side effect checks it first.

        A progressive strategy (engine/promotions/strategy.py) commits first
        (`to_cluster=False`, with `inspect` checking the rendered objects before the
        commit) and deploys again once its steps passed (the commit is found again).

        Pull-request mode (engine/promotions/pull_request.py): `propose` pushes the pins
        to that branch instead of committing them (nothing reaches the cluster; `inspect`
        lets a progressive strategy refuse before the push); once
        the pull request is merged, `merged` (the merge commit) syncs the cluster to it."""
        project = self.project  # one version for the whole run
        env = project.environments.get(environment)
        handoff = env is not None and env.deploy.hands_off
        steps = self._steps.deploy(
            release,
            actor,
            wait=wait,
            handoff=handoff,
            to_cluster=to_cluster,
            inspect=inspect,
            propose=propose,
            merged=merged,
        )
        started = time.monotonic()
        try:
            check_environment(project, environment)
            plans = release_plans(project, release, apps)
            async with self._exclusion.hold(
                environment, [p.app for p in plans], waiting_note(environment, progress)
            ) as app_leases:
                run = self._begin(
                    project,
                    environment,
                    plans,
                    group_id=promotion_id,
                    kind=kind,
                    release_id=release.id,
                    actor=actor,
                    fence=fence,
                    app_leases=app_leases,
                    details={"promotion": promotion_id},
                    progress=progress,
                )
                outcome = await run_steps(run, steps)
        except DeployError:
            self._observe(kind, "failed", started)
            raise
        self._observe(kind, outcome.status, started)
        return outcome

    async def base_head(self) -> str:
        """The head of the branch the clusters follow, as the remote says now (pull-request
        mode: has the base moved under an open pull request?)."""
        return await self.workspace.remote_head()

    async def sync(
        self,
        environment: str,
        apps: Sequence[str] | None = None,
        *,
        actor: str,
        wait: bool = True,
        progress: Progress | None = None,
    ) -> DeployOutcome:
        """Re-apply what git says for `environment` (all apps with a pin, or `apps`). A
        sync of the whole environment also removes the apps gone from git (removal.py)."""
        outcome = await self._sync(environment, apps, actor, wait=wait, progress=progress)
        assert outcome is not None  # a sync that applies always has something to do
        return outcome

    async def prune_removed(self, environment: str, *, actor: str) -> DeployOutcome | None:
        """Only the removal part of a sync of `environment`, at the branch head: delete the
        objects of the apps removed from git (or show them orphaned), recorded like a sync.
        None, recording nothing, when no app was removed. A refused removal raises
        DeployStepError (step `remove`) after recording the failed run."""
        return await self._sync(environment, None, actor, wait=False, apply=False)

    async def _sync(
        self,
        environment: str,
        apps: Sequence[str] | None,
        actor: str,
        *,
        wait: bool,
        progress: Progress | None = None,
        apply: bool = True,
    ) -> DeployOutcome | None:
        started = time.monotonic()
        project = self.project  # one version for the whole run
        try:
            check_environment(project, environment)
            _, tree = await head_and_tree(self.workspace)
            plans = tree_plans(project, environment, tree, apps) if apply else []
            planned = [p.app for p in plans]
            # Apps gone from git (only a sync of the whole environment removes them).
            removed: list[str] = []
            if not apps:
                removed = await removal_candidates(self.db, project, environment, tree)
            if not planned and not removed:
                return self._nothing(environment, apply)
            async with self._exclusion.hold(
                environment, planned + removed, waiting_note(environment, progress)
            ) as app_leases:
                # Read git again now that no deploy of these apps runs: sync what is newest.
                head, tree = await head_and_tree(self.workspace)
                plans = tree_plans(project, environment, tree, planned) if planned else []
                removal = Removal.nothing(environment)
                if removed:  # the inventories are read only when an app may have gone
                    found = await find_removal(self.db, project, environment, tree)
                    removal = found.only(removed)
                if not plans and not removal.apps:  # removed meanwhile by another replica
                    return self._nothing(environment, apply)
                release_ids = sorted({p.pin.release for p in plans if p.pin is not None})
                run = self._begin(
                    project,
                    environment,
                    plans,
                    removed=removal.apps,
                    kind="sync",
                    release_id=release_ids[0] if len(release_ids) == 1 else None,
                    actor=actor,
                    app_leases=app_leases,
                    details={"commit": head, "removed": removal.apps},
                    progress=progress,
                )
                run.tree, run.head, run.outcome.git_commit = tree, head, head
                steps = self._steps.sync(
                    RemoveStep(removal, self.on_removed),
                    applies=bool(plans),
                    refused=bool(removal.plan.refusal),
                    hands_off=project.environments[environment].deploy.hands_off,
                    wait=wait,
                )
                outcome = await run_steps(run, steps)
        except DeployError:
            self._observe("sync", "failed", started)
            raise
        self._observe("sync", outcome.status, started)
        return outcome

    async def render(
        self, environment: str, app: str, sha: str | None = None
    ) -> list[dict[str, Any]]:
        """The objects git says `app` should have in `environment` (at `sha` or HEAD)."""
        project = self.project
        check_environment(project, environment)
        tree = await self.workspace.read_tree(sha or await self.workspace.sync())
        plans = tree_plans(project, environment, tree, [app])
        if not plans:
            raise DeployRequestError(f"{app!r} is not in environment {environment!r} yet")
        handle = self.clusters.for_environment(environment)
        env = project.environments[environment]
        return await render_plan(handle, environment, env, plans[0], tree, self.contents)

    # --- helpers --------------------------------------------------------------------------

    def _begin(
        self,
        project: ProjectConfig,
        environment: str,
        plans: list[AppPlan],
        *,
        removed: Sequence[str] = (),
        kind: str,
        release_id: str | None,
        actor: str,
        app_leases: list[HeldLease],
        details: dict[str, Any],
        group_id: str | None = None,
        fence: Fence | None = None,
        progress: Progress | None = None,
    ) -> DeployRun:
        """The run of `plans` (and of the `removed` apps), its rows started (deferred: they
        are written with the first step's start)."""
        keeper = self.leases
        app_fences = [] if keeper is None else [keeper.fence(lease) for lease in app_leases]
        rec = RunRecorder(
            self.db,
            group_id=group_id or new_group_id(),
            environment=environment,
            apps=[p.app for p in plans] + list(removed),
            kind=kind,
            release_id=release_id,
            actor=actor,
            clock=self.clock.now,
            # Lease rows before promotion rows: the lock order every writer keeps.
            fence=Fences([*app_fences, fence]),
            replica=None if keeper is None else keeper.replica_id,
        )
        run = DeployRun(
            environment=environment,
            env=project.environments[environment],
            handle=self.clusters.for_environment(environment),
            rec=rec,
            outcome=DeployOutcome(rec.group_id, environment, rec.kind, rec.release_id),
            plans=plans,
            progress=progress,
            on_applied=self.on_applied,
            live_objects=self.live_objects,
            known=self.known_applied,
            removed=tuple(removed),
            project=project,
            contents=self.contents,
        )
        rec.start(details)
        for app in rec.apps:
            run.outcome.apps[app] = AppOutcome(app, rec.run_ids[app])
        return run

    @staticmethod
    def _nothing(environment: str, apply: bool) -> None:
        """No app to sync or remove: fine for `prune_removed`, an error for a sync."""
        if apply:
            raise DeployRequestError(
                f"nothing to sync in {environment!r}: no app directory under "
                f"envs/{environment}/ in git (promote a release first)"
            )

    def _observe(self, kind: str, status: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.deploy_seconds.labels(kind, status).observe(time.monotonic() - started)
