"""The deploy primitive: put a release into an environment, GitOps-style, and know
truthfully whether it is healthy.

deploy = git -> render (HEAD + the new pins) -> dry-run -> commit -> render (the commit)
         -> apply -> prune -> health
sync   = render (HEAD) -> dry-run -> apply -> prune -> health

The `Deployer` only plans, takes the apps exclusively and runs the sequence; each step is
a module of this package working on one `DeployRun`. Every step is recorded as it starts
and ends (run rows and audit events), and every step is safe to repeat, so a deploy that
died half-way is resumed by running it again (docs/durability.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import structlog

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy.apply import ApplyStep
from shiplane.engine.deploy.commit import CommitStep
from shiplane.engine.deploy.dry_run import DryRunStep
from shiplane.engine.deploy.errors import (
    DeployError,
    DeployRequestError,
    DeployStepError,
)
from shiplane.engine.deploy.exclusive import AppExclusion
from shiplane.engine.deploy.git_sync import GitSyncStep
from shiplane.engine.deploy.health import HealthStep
from shiplane.engine.deploy.outcome import AppOutcome, DeployOutcome
from shiplane.engine.deploy.plan import (
    AppPlan,
    check_environment,
    release_plans,
    tree_plans,
)
from shiplane.engine.deploy.prune import PruneStep
from shiplane.engine.deploy.recorder import RunRecorder
from shiplane.engine.deploy.render import RenderStep, render_plan
from shiplane.engine.deploy.run import (
    AppliedListener,
    DeployRun,
    LiveObjects,
    Progress,
    Step,
)
from shiplane.engine.deploy.runner import run_steps
from shiplane.engine.leases import Fence, Fences, HeldLease, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.project_source import ProjectSource
from shiplane.gitops.errors import GitError
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
        self.metrics = metrics
        self.leases = leases
        self._exclusion = AppExclusion(leases)
        self._git_sync = GitSyncStep(workspace)
        self._dry_run = DryRunStep()
        self._apply = ApplyStep()
        self._prune = PruneStep()

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    # --- public API -----------------------------------------------------------------------

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
    ) -> DeployOutcome:
        """Commit `release`'s pins for `environment` and sync the cluster to that commit.
        With `fence` (a promotion's lease), every write and side effect checks it first."""
        steps: list[Step] = [
            self._git_sync,
            RenderStep(with_pins=True),
            self._dry_run,
            CommitStep(self.workspace, release, actor),
            RenderStep(),
            *self._to_cluster(wait),
        ]
        started = time.monotonic()
        project = self.project  # one version for the whole run
        try:
            check_environment(project, environment)
            plans = release_plans(project, release, apps)
            async with self._exclusion.hold(
                environment, [p.app for p in plans], self._waiting(environment, progress)
            ) as app_leases:
                rec = self._recorder(
                    environment,
                    plans,
                    group_id=promotion_id or new_group_id(),
                    kind=kind,
                    release_id=release.id,
                    actor=actor,
                    fence=fence,
                    app_leases=app_leases,
                )
                run = self._new_run(project, environment, rec, plans, progress)
                self._start(run, {"promotion": promotion_id})
                outcome = await run_steps(run, steps)
        except DeployError:
            self._observe(kind, "failed", started)
            raise
        self._observe(kind, outcome.status, started)
        return outcome

    async def sync(
        self,
        environment: str,
        apps: Sequence[str] | None = None,
        *,
        actor: str,
        wait: bool = True,
        progress: Progress | None = None,
    ) -> DeployOutcome:
        """Re-apply what git says for `environment` (all apps with a pin, or `apps`)."""
        started = time.monotonic()
        project = self.project  # one version for the whole run
        try:
            check_environment(project, environment)
            planned = [p.app for p in tree_plans(
                project, environment, await self._git_tree(None), apps
            )]  # fmt: skip
            if not planned:
                raise DeployRequestError(
                    f"nothing to sync in {environment!r}: no app directory under "
                    f"envs/{environment}/ in git (promote a release first)"
                )
            async with self._exclusion.hold(
                environment, planned, self._waiting(environment, progress)
            ) as app_leases:
                # Read git again now that no deploy of these apps runs: sync what is newest.
                head = await self._git_head()
                tree = await self._git_tree(head)
                plans = tree_plans(project, environment, tree, planned)
                release_ids = sorted({p.pin.release for p in plans if p.pin is not None})
                rec = self._recorder(
                    environment,
                    plans,
                    group_id=new_group_id(),
                    kind="sync",
                    release_id=release_ids[0] if len(release_ids) == 1 else None,
                    actor=actor,
                    fence=None,
                    app_leases=app_leases,
                )
                run = self._new_run(project, environment, rec, plans, progress)
                run.tree, run.head, run.outcome.git_commit = tree, head, head
                self._start(run, {"commit": head})
                steps: list[Step] = [RenderStep(), self._dry_run, *self._to_cluster(wait)]
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
        return await render_plan(handle, environment, env, plans[0], tree)

    # --- the sequence ---------------------------------------------------------------------

    def _to_cluster(self, wait: bool) -> list[Step]:
        """The steps after the last render: apply, prune, and (with `wait`) health."""
        steps: list[Step] = [self._apply, self._prune]
        if wait:
            steps.append(HealthStep(self.health_timeout))
        return steps

    # --- helpers --------------------------------------------------------------------------

    def _new_run(
        self,
        project: ProjectConfig,
        environment: str,
        rec: RunRecorder,
        plans: list[AppPlan],
        progress: Progress | None,
    ) -> DeployRun:
        return DeployRun(
            environment=environment,
            env=project.environments[environment],
            handle=self.clusters.for_environment(environment),
            rec=rec,
            outcome=DeployOutcome(rec.group_id, environment, rec.kind, rec.release_id),
            plans=plans,
            progress=progress,
            on_applied=self.on_applied,
            live_objects=self.live_objects,
            project=project,
        )

    def _start(self, run: DeployRun, details: dict[str, Any]) -> None:
        run.rec.start(details)  # written with the first step's start
        for plan in run.plans:
            run.outcome.apps[plan.app] = AppOutcome(plan.app, run.rec.run_ids[plan.app])

    def _recorder(
        self,
        environment: str,
        plans: Sequence[AppPlan],
        *,
        group_id: str,
        kind: str,
        release_id: str | None,
        actor: str,
        fence: Fence | None,
        app_leases: list[HeldLease],
    ) -> RunRecorder:
        keeper = self.leases
        app_fences = [] if keeper is None else [keeper.fence(lease) for lease in app_leases]
        return RunRecorder(
            self.db,
            group_id=group_id,
            environment=environment,
            apps=[p.app for p in plans],
            kind=kind,
            release_id=release_id,
            actor=actor,
            clock=self.clock.now,
            # Lease rows before promotion rows: the lock order every writer keeps.
            fence=Fences([*app_fences, fence]),
            replica=None if keeper is None else keeper.replica_id,
        )

    async def _git_head(self) -> str:
        try:
            return await self.workspace.sync()
        except GitError as exc:
            raise DeployStepError("git", str(exc)) from None

    async def _git_tree(self, head: str | None) -> Path:
        try:
            return await self.workspace.read_tree(head or await self.workspace.sync())
        except GitError as exc:
            raise DeployStepError("git", str(exc)) from None

    @staticmethod
    def _waiting(environment: str, progress: Progress | None) -> Callable[[], None]:
        def say() -> None:
            if progress is not None:
                progress(f"waiting for another replica deploying to {environment}")

        return say

    def _observe(self, kind: str, status: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.deploy_seconds.labels(kind, status).observe(time.monotonic() - started)
