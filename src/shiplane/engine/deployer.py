"""The deploy primitive: put a release into an environment, GitOps-style, and know truthfully
whether it is healthy.

deploy = write pins -> render -> server-side dry-run -> push -> apply -> prune -> wait for
health. Every step is recorded (run rows and audit events), and repeating a deploy is
safe: the commit is recognised by its trailer, apply is server-side apply, prune compares
inventories. `sync` re-applies what git already says; `diff` compares with the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog

from shiplane.config.models import AppConfig, ProjectConfig
from shiplane.domain.health import HealthStatus
from shiplane.engine.clusters import ClusterHandle, ClusterPool
from shiplane.engine.faults import fault_point
from shiplane.engine.leases import Fence, Fences, HeldLease, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.recorder import RunRecorder
from shiplane.gitops.errors import GitError, PinError, RenderError
from shiplane.gitops.pins import (
    Pin,
    PinImage,
    dump_pin,
    load_pin,
    pin_path,
    promotion_message,
    promotion_trailers,
)
from shiplane.gitops.renderers.pipeline import render_app
from shiplane.gitops.workspace import GitWorkspace
from shiplane.kube.apply import ApplyError, ApplyProblem, blocking
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.kube.health import HealthPolicy
from shiplane.kube.health_wait import HealthTimeout, wait_healthy
from shiplane.kube.ownership import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.store.db import Database
from shiplane.store.leases import LeaseLostError
from shiplane.store.records import ReleaseRecord

log = structlog.get_logger(__name__)

Kind = Literal["deploy", "sync", "rollback"]
Progress = Callable[[str], None]
# (environment, app, cluster, objects sent, git commit they came from)
AppliedListener = Callable[
    [str, str, ClusterHandle, list[dict[str, Any]], str | None], Awaitable[None]
]

# Local and many on-premise clusters never get LoadBalancer addresses.
HEALTH_POLICY = HealthPolicy(lb_address_optional=True)


class DeployError(Exception):
    """A deploy or sync failed at `step`; nothing after that step was done."""

    def __init__(self, step: str, message: str, outcome: DeployOutcome | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.outcome = outcome

    def __str__(self) -> str:
        return f"{self.step}: {self.message}"


@dataclass
class AppOutcome:
    app: str
    run_id: str
    objects: int = 0
    changed: int = 0
    pruned: int = 0
    health: str = HealthStatus.UNKNOWN.value
    health_reason: str = ""
    error: str | None = None


@dataclass
class DeployOutcome:
    group_id: str
    environment: str
    kind: str
    release_id: str | None
    git_commit: str | None = None
    commit_created: bool = False
    status: str = "running"
    apps: dict[str, AppOutcome] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def to_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "environment": self.environment,
            "kind": self.kind,
            "release_id": self.release_id,
            "git_commit": self.git_commit,
            "commit_created": self.commit_created,
            "status": self.status,
            "apps": {name: vars(a) for name, a in self.apps.items()},
        }


@dataclass
class _Plan:
    app: str
    config: AppConfig
    pin: Pin | None  # None: the manifests as they are in git, no release pinned
    objects: list[dict[str, Any]] = field(default_factory=list)
    # resourceVersions seen by the dry-run of exactly these objects (None: not dry-run
    # since the last render); lets apply skip its GET per object.
    live_versions: dict[ObjRef, str | None] | None = None


def pin_for(release: ReleaseRecord, app: str) -> Pin:
    """The pin that makes `app` run `release`."""
    images = [
        PinImage(repository=a.image, ref=a.ref, digest=a.digest or a.resolved_digest)
        for a in release.artifacts
        if a.app == app
    ]
    return Pin(app=app, release=release.id, alias=release.alias, images=tuple(images))


def new_group_id() -> str:
    return f"dep-{uuid.uuid4().hex[:16]}"


class Deployer:
    def __init__(
        self,
        db: Database,
        workspace: GitWorkspace,
        project: ProjectConfig,
        clusters: ClusterPool,
        *,
        health_timeout: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_applied: AppliedListener | None = None,
        metrics: EngineMetrics | None = None,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self.db = db
        self.workspace = workspace
        self.project = project
        self.clusters = clusters
        self.health_timeout = health_timeout
        self.clock = clock
        self.on_applied = on_applied
        self.metrics = metrics
        self.leases = leases
        # One deploy at a time per (environment, app): two would race on its pin and
        # inventory, and an older commit could be applied after a newer one.
        self._app_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._namespaces_seen: dict[str, set[str]] = {}

    @contextlib.asynccontextmanager
    async def _exclusive(
        self, environment: str, apps: Sequence[str], progress: Progress | None
    ) -> AsyncIterator[list[HeldLease]]:
        """One deploy or sync of each (environment, app) at a time: in this process (a
        lock per app, taken in name order) and across replicas (the leases
        `deploy/<environment>/<app>`, taken all at once). Other apps of the environment
        deploy in parallel."""
        chosen = sorted(set(apps))
        async with contextlib.AsyncExitStack() as stack:
            for app in chosen:
                lock = self._app_locks.setdefault((environment, app), asyncio.Lock())
                await stack.enter_async_context(lock)
            if self.leases is None:
                yield []
                return
            told = False

            def waiting(seconds: float) -> None:
                nonlocal told
                if seconds >= 1.0 and not told:
                    told = True
                    _say(progress, f"waiting for another replica deploying to {environment}")

            names = [deploy_lease(environment, app) for app in chosen]
            async with self.leases.hold_all(names, waiting=waiting) as leases:
                yield leases

    def _recorder(
        self,
        environment: str,
        apps: Sequence[str],
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
            apps=apps,
            kind=kind,
            release_id=release_id,
            actor=actor,
            clock=self.clock,
            # Lease rows before promotion rows: the lock order every writer keeps.
            fence=Fences([*app_fences, fence]),
            replica=None if self.leases is None else self.leases.replica_id,
        )

    # --- public API -----------------------------------------------------------------------

    def _observe(self, kind: str, status: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.deploy_seconds.labels(kind, status).observe(time.monotonic() - started)

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
        started = time.monotonic()
        try:
            outcome = await self._deploy(
                release,
                environment,
                actor=actor,
                apps=apps,
                promotion_id=promotion_id,
                kind=kind,
                wait=wait,
                progress=progress,
                fence=fence,
            )
        except DeployError:
            self._observe(kind, "failed", started)
            raise
        self._observe(kind, outcome.status, started)
        return outcome

    async def _deploy(
        self,
        release: ReleaseRecord,
        environment: str,
        *,
        actor: str,
        apps: Sequence[str] | None,
        promotion_id: str | None,
        kind: Kind,
        wait: bool,
        progress: Progress | None,
        fence: Fence | None,
    ) -> DeployOutcome:
        self._check_environment(environment)
        chosen = self._release_apps(release, apps)
        group_id = promotion_id or new_group_id()
        async with self._exclusive(environment, chosen, progress) as app_leases:
            rec = self._recorder(
                environment,
                chosen,
                group_id=group_id,
                kind=kind,
                release_id=release.id,
                actor=actor,
                fence=fence,
                app_leases=app_leases,
            )
            outcome = DeployOutcome(group_id, environment, kind, release.id)
            await rec.start({"promotion": promotion_id})
            pins = {app: pin_for(release, app) for app in chosen}
            plans = [_Plan(app, self.project.apps[app], pins[app]) for app in chosen]
            for plan in plans:
                outcome.apps[plan.app] = AppOutcome(plan.app, rec.run_ids[plan.app])
            try:
                head = await self._git(rec, self.workspace.sync)
                await self._validate_before_push(rec, environment, plans, pins, head, progress)
                changes = {pin_path(environment, app): dump_pin(pin) for app, pin in pins.items()}
                message = promotion_message(chosen, release.alias, release.id, environment)
                trailers = promotion_trailers(group_id, release.id, actor)
                await rec.step("commit", "running")
                fault_point("deploy.before_push")
                rec.assert_held()  # a replica paused past its lease must not push
                try:
                    result = await self.workspace.commit_and_push(
                        changes, message=message, trailers=trailers
                    )
                except GitError as exc:
                    raise await self._fail(rec, outcome, "commit", str(exc)) from None
                fault_point("rollback.after_push" if kind == "rollback" else "deploy.after_push")
                outcome.git_commit, outcome.commit_created = result.sha, result.created
                what = "pushed" if result.created else "already in git"
                await rec.step(
                    "commit",
                    "ok",
                    detail=f"{result.sha[:12]} {what}",
                    audit_details={"commit": result.sha, "created": result.created},
                )
                _say(progress, f"commit {result.sha[:12]} {what}")
                # What was dry-run before the commit: when the committed tree renders the
                # same objects, apply reuses the dry-run's resourceVersions (no GET each).
                dry_run = {p.app: (p.objects, p.live_versions) for p in plans}
                tree = await self.workspace.read_tree(result.sha)
                await self._sync_tree(
                    rec, outcome, environment, plans, tree, wait, progress, dry_run
                )
            except (DeployError, LeaseLostError):
                raise
            except Exception as exc:  # a bug or an outage: record it, never leave "running"
                log.exception("deploy.crashed", group=group_id)
                raise await self._fail(rec, outcome, "internal", repr(exc)) from exc
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
        try:
            outcome = await self._sync(environment, apps, actor=actor, wait=wait, progress=progress)
        except DeployError:
            self._observe("sync", "failed", started)
            raise
        self._observe("sync", outcome.status, started)
        return outcome

    async def _sync(
        self,
        environment: str,
        apps: Sequence[str] | None,
        *,
        actor: str,
        wait: bool,
        progress: Progress | None,
    ) -> DeployOutcome:
        self._check_environment(environment)
        head = await self.workspace.sync()
        planned = [p.app for p in self._plans_from_tree(
            environment, await self.workspace.read_tree(head), apps
        )]  # fmt: skip
        if not planned:
            raise DeployError(
                "plan",
                f"nothing to sync in {environment!r}: no app directory under "
                f"envs/{environment}/ in git (promote a release first)",
            )
        async with self._exclusive(environment, planned, progress) as app_leases:
            # Read git again now that no deploy of these apps runs: sync what is newest.
            head = await self.workspace.sync()
            tree = await self.workspace.read_tree(head)
            plans = self._plans_from_tree(environment, tree, planned)
            release_ids = sorted({p.pin.release for p in plans if p.pin is not None})
            rec = self._recorder(
                environment,
                [p.app for p in plans],
                group_id=new_group_id(),
                kind="sync",
                release_id=release_ids[0] if len(release_ids) == 1 else None,
                actor=actor,
                fence=None,
                app_leases=app_leases,
            )
            outcome = DeployOutcome(rec.group_id, environment, "sync", rec.release_id, head)
            await rec.start({"commit": head})
            for plan in plans:
                outcome.apps[plan.app] = AppOutcome(plan.app, rec.run_ids[plan.app])
            try:
                await self._sync_tree(rec, outcome, environment, plans, tree, wait, progress)
            except (DeployError, LeaseLostError):
                raise
            except Exception as exc:
                log.exception("sync.crashed", group=rec.group_id)
                raise await self._fail(rec, outcome, "internal", repr(exc)) from exc
            return outcome

    async def render(
        self, environment: str, app: str, sha: str | None = None
    ) -> list[dict[str, Any]]:
        """The objects git says `app` should have in `environment` (at `sha` or HEAD)."""
        self._check_environment(environment)
        head = sha or await self.workspace.sync()
        tree = await self.workspace.read_tree(head)
        plans = self._plans_from_tree(environment, tree, [app])
        if not plans:
            raise DeployError("plan", f"{app!r} is not in environment {environment!r} yet")
        handle = self.clusters.for_environment(environment)
        await self._render(handle, environment, plans[0], tree)
        return plans[0].objects

    # --- steps ----------------------------------------------------------------------------

    async def _git(self, rec: RunRecorder, op: Callable[[], Awaitable[str]]) -> str:
        try:
            return await op()
        except GitError as exc:
            raise DeployError("git", str(exc)) from None

    async def _validate_before_push(
        self,
        rec: RunRecorder,
        environment: str,
        plans: list[_Plan],
        pins: dict[str, Pin],
        head: str,
        progress: Progress | None,
    ) -> None:
        """Render the tree as it will be after the commit and dry-run it, so that an
        invalid manifest never reaches git."""
        base = await self.workspace.read_tree(head)
        with tempfile.TemporaryDirectory(prefix="shiplane-preview-") as tmp:
            tree = Path(tmp) / "tree"
            shutil.copytree(base, tree, symlinks=True)
            for app, pin in pins.items():
                target = tree / pin_path(environment, app)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(dump_pin(pin))
            handle = self.clusters.for_environment(environment)
            await self._render_all(rec, handle, environment, plans, tree)
        await self._dry_run_all(rec, handle, plans)
        _say(progress, f"rendered and dry-ran {sum(len(p.objects) for p in plans)} objects")

    async def _ensure_namespace(self, handle: ClusterHandle, environment: str) -> None:
        """The environment's namespace is part of the environment, not of an app: create
        it when missing (labelled as Shiplane's), never prune it with an app."""
        namespace = self.project.environments[environment].namespace
        if namespace in self._namespaces_seen.get(handle.name, set()):
            return
        from lightkube.core.exceptions import ApiError
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Namespace

        try:
            await handle.client.get(Namespace, namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            meta = ObjectMeta(
                name=namespace,
                labels={MANAGED_BY_LABEL: MANAGED_BY_VALUE, ENVIRONMENT_LABEL: environment},
            )
            try:
                await handle.client.create(Namespace(metadata=meta))
            except ApiError as again:
                if again.status.code != 409:
                    raise
        self._namespaces_seen.setdefault(handle.name, set()).add(namespace)

    async def _render(
        self, handle: ClusterHandle, environment: str, plan: _Plan, tree: Path
    ) -> None:
        if not handle.discovery.cached("v1", "Namespace"):
            await handle.discovery.refresh()  # rendering needs scopes without awaiting
        env = self.project.environments[environment]
        plan.live_versions = None
        plan.objects = await render_app(
            tree,
            app=plan.app,
            environment=environment,
            namespace=env.namespace,
            manifests_path=plan.config.manifests.path,
            renderer=plan.config.manifests.render,
            pin=plan.pin,
            is_namespaced=lambda v, k: (
                None if (info := handle.discovery.cached(v, k)) is None else info.namespaced
            ),
        )

    async def _render_all(
        self,
        rec: RunRecorder,
        handle: ClusterHandle,
        environment: str,
        plans: list[_Plan],
        tree: Path,
    ) -> None:
        await rec.step("render", "running")
        results = await asyncio.gather(
            *(self._render(handle, environment, p, tree) for p in plans), return_exceptions=True
        )
        errors = {p.app: _describe(r) for p, r in zip(plans, results, strict=True) if r}
        if errors:
            raise await self._fail_apps(rec, "render", errors)
        await rec.step("render", "ok", detail={p.app: f"{len(p.objects)} objects" for p in plans})

    async def _dry_run_all(
        self, rec: RunRecorder, handle: ClusterHandle, plans: list[_Plan]
    ) -> None:
        await rec.step("dry-run", "running")
        await self._ensure_namespace(handle, rec.environment)
        errors: dict[str, str] = {}
        for plan in plans:
            policy = plan.config.immutable_field_policy
            versions: dict[ObjRef, str | None] = {}
            problems = blocking(
                await handle.applier.dry_run(
                    plan.objects, immutable_policy=policy, live_versions=versions
                )
            )
            plan.live_versions = versions
            if problems:
                errors[plan.app] = _problems_text(problems)
        if errors:
            raise await self._fail_apps(rec, "dry-run", errors)
        await rec.step("dry-run", "ok")

    async def _sync_tree(
        self,
        rec: RunRecorder,
        outcome: DeployOutcome,
        environment: str,
        plans: list[_Plan],
        tree: Path,
        wait: bool,
        progress: Progress | None,
        dry_run: Mapping[str, tuple[list[dict[str, Any]], dict[ObjRef, str | None] | None]]
        | None = None,
    ) -> None:
        handle = self.clusters.for_environment(environment)
        await self._render_all(rec, handle, environment, plans, tree)
        if rec.kind == "sync":
            await self._dry_run_all(rec, handle, plans)
        for plan in plans:
            seen = (dry_run or {}).get(plan.app)
            if seen is not None and seen[0] == plan.objects:
                plan.live_versions = seen[1]
        await self._apply_all(rec, outcome, handle, environment, plans, progress)
        if wait:
            await self._wait_all(rec, outcome, handle, environment, plans, progress)
        failed = {a: o.error for a, o in outcome.apps.items() if o.error}
        outcome.status = "failed" if failed else "succeeded"
        await rec.finish(
            outcome.status,
            git_commit=outcome.git_commit,
            errors={a: e for a, e in failed.items() if e},
            details={"health": {a: o.health for a, o in outcome.apps.items()}},
        )
        if failed:
            first = next(iter(failed.items()))
            raise DeployError("health", f"{first[0]}: {first[1]}", outcome)

    async def _apply_all(
        self,
        rec: RunRecorder,
        outcome: DeployOutcome,
        handle: ClusterHandle,
        environment: str,
        plans: list[_Plan],
        progress: Progress | None,
    ) -> None:
        env = self.project.environments[environment]
        await rec.step("apply", "running")
        by_app = {p.app: p for p in plans}
        # dependsOn order; apps of one level have no dependency on each other.
        for level in _levels(self.project, list(by_app)):
            results = await asyncio.gather(
                *(self._apply_one(rec, outcome, handle, environment, by_app[a]) for a in level),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, LeaseLostError):
                    raise result  # not an apply failure: another replica owns the work now
            errors = {a: _describe(r) for a, r in zip(level, results, strict=True) if r}
            if errors:
                raise await self._fail_apps(rec, "apply", errors, outcome)
            fault_point("deploy.during_apply")
        await rec.step(
            "apply",
            "ok",
            detail={a: f"{o.changed} of {o.objects} changed" for a, o in outcome.apps.items()},
            audit_details={"changed": {a: o.changed for a, o in outcome.apps.items()}},
        )
        await rec.step("prune", "running")
        # One store transaction to read every inventory and one to save them: with many
        # apps, a round trip to the store per app costs more than the prunes themselves.
        previous = await rec.write(
            lambda s: {p.app: deploys.get_inventory(s, environment, p.app) for p in plans}
        )
        pruned: dict[str, str] = {}
        inventories: dict[str, list[ObjRef]] = {}
        try:
            for plan in plans:
                pruned[plan.app], inventories[plan.app] = await self._prune_one(
                    rec,
                    outcome,
                    handle,
                    environment,
                    plan,
                    previous[plan.app],
                    env.prune.enabled,
                    env.prune.max_fraction,
                )
        finally:  # a refused prune stops here; the apps before it are done
            await self._remember_inventories(rec, environment, inventories, outcome.git_commit)
        await rec.step(
            "prune",
            "ok",
            detail=pruned,
            audit_details={"pruned": {a: o.pruned for a, o in outcome.apps.items()}},
        )
        _say(
            progress,
            "applied "
            + ", ".join(
                f"{a} ({o.changed}/{o.objects} changed, {o.pruned} pruned)"
                for a, o in outcome.apps.items()
            ),
        )

    async def _apply_one(
        self,
        rec: RunRecorder,
        outcome: DeployOutcome,
        handle: ClusterHandle,
        environment: str,
        plan: _Plan,
    ) -> None:
        rec.assert_held()  # checked right before each app's apply: never apply stale
        try:
            result = await handle.applier.apply(
                plan.objects,
                environment=environment,
                app=plan.app,
                immutable_policy=plan.config.immutable_field_policy,
                live_versions=plan.live_versions,
            )
        except ApplyError as exc:
            # Remember what did get applied, so a later prune can still find it.
            await self._remember_inventory(
                rec, environment, plan.app, exc.result.applied, outcome.git_commit, merge=True
            )
            raise
        fault_point("deploy.after_apply")
        app_outcome = outcome.apps[plan.app]
        app_outcome.objects = len(result.applied)
        app_outcome.changed = len(result.changed)
        await rec.write(
            lambda s: deploys.update_deployment(
                s,
                environment=environment,
                app=plan.app,
                release_id=plan.pin.release if plan.pin is not None else None,
                git_commit=outcome.git_commit,
                sync_status="Synced",
                sync_detail=None,
                **(
                    {"health": HealthStatus.PROGRESSING.value, "health_reason": "applied"}
                    if result.changed
                    else {}
                ),
                now=self.clock,
            )
        )
        if self.on_applied is not None:
            # Drift compares with what was sent, ownership markers included.
            sent = [mark_owned(clean(o), environment, plan.app) for o in plan.objects]
            await self.on_applied(environment, plan.app, handle, sent, outcome.git_commit)

    async def _prune_one(
        self,
        rec: RunRecorder,
        outcome: DeployOutcome,
        handle: ClusterHandle,
        environment: str,
        plan: _Plan,
        previous_json: list[dict[str, str]] | None,
        enabled: bool,
        max_fraction: float,
    ) -> tuple[str, list[ObjRef]]:
        """Prune what the previous inventory has and the plan no longer renders; the text
        for the step and the app's new inventory."""
        current = [ObjRef.of(o) for o in plan.objects]
        previous = [ObjRef.from_json(o) for o in previous_json or []]
        keep: list[ObjRef] = []
        text = "nothing to prune"
        if enabled and previous:
            rec.assert_held()
            result = await handle.applier.prune(
                previous, current, max_fraction=max_fraction, environment=environment, app=plan.app
            )
            if result.refused:
                raise await self._fail_apps(rec, "prune", {plan.app: result.reason}, outcome)
            outcome.apps[plan.app].pruned = len(result.deleted)
            keep = list(result.keep)
            if result.deleted or result.skipped_opt_out:
                text = (
                    f"deleted {len(result.deleted)}, kept {len(result.skipped_opt_out)} (opt-out)"
                )
        elif previous:
            text = "prune disabled for this environment"
            keep = [r for r in previous if r not in set(current)]
        return text, current + keep

    async def _remember_inventory(
        self,
        rec: RunRecorder,
        environment: str,
        app: str,
        refs: Sequence[ObjRef],
        commit: str | None,
        *,
        merge: bool = False,
    ) -> None:
        await self._remember_inventories(rec, environment, {app: refs}, commit, merge=merge)

    async def _remember_inventories(
        self,
        rec: RunRecorder,
        environment: str,
        refs_by_app: Mapping[str, Sequence[ObjRef]],
        commit: str | None,
        *,
        merge: bool = False,
    ) -> None:
        """Save the inventory of each app, in one transaction."""
        if not refs_by_app:
            return

        def fn(s: Any) -> None:
            for app, refs in refs_by_app.items():
                merged = list(dict.fromkeys(refs))
                if merge:
                    old = [
                        ObjRef.from_json(o)
                        for o in deploys.get_inventory(s, environment, app) or []
                    ]
                    merged = list(dict.fromkeys([*old, *refs]))
                deploys.save_inventory(
                    s,
                    environment,
                    app,
                    [r.to_json() for r in sorted(merged)],
                    git_commit=commit,
                    now=self.clock,
                )

        await rec.write(fn)

    async def _wait_all(
        self,
        rec: RunRecorder,
        outcome: DeployOutcome,
        handle: ClusterHandle,
        environment: str,
        plans: list[_Plan],
        progress: Progress | None,
    ) -> None:
        await rec.step("health", "running")

        async def one(plan: _Plan) -> None:
            refs = [ObjRef.of(o) for o in plan.objects]
            app_outcome = outcome.apps[plan.app]
            try:
                health = await wait_healthy(
                    handle.client, refs, timeout=self.health_timeout, policy=HEALTH_POLICY
                )
                status, reason = health.status, health.reason or health.message
            except HealthTimeout as exc:
                status = exc.health.status
                reason = f"not healthy after {self.health_timeout:.0f}s: {exc.health.reason}"
                app_outcome.error = reason
            app_outcome.health, app_outcome.health_reason = status.value, reason
            if status is not HealthStatus.HEALTHY and app_outcome.error is None:
                app_outcome.error = f"{status.value}: {reason}"
            await rec.write(
                lambda s: deploys.update_deployment(
                    s,
                    environment=environment,
                    app=plan.app,
                    health=status.value,
                    health_reason=reason,
                    now=self.clock,
                )
            )

        await asyncio.gather(*(one(p) for p in plans))
        detail = {a: f"{o.health} {o.health_reason}".strip() for a, o in outcome.apps.items()}
        bad = any(o.error for o in outcome.apps.values())
        await rec.step(
            "health",
            "failed" if bad else "ok",
            detail=detail,
            audit_details={"health": {a: o.health for a, o in outcome.apps.items()}},
        )
        _say(progress, "health: " + ", ".join(f"{a} {o.health}" for a, o in outcome.apps.items()))

    # --- failure handling -----------------------------------------------------------------

    async def _fail_apps(
        self,
        rec: RunRecorder,
        step: str,
        errors: dict[str, str],
        outcome: DeployOutcome | None = None,
    ) -> DeployError:
        await rec.step(step, "failed", apps=list(errors), detail=errors)
        await rec.finish(
            "failed",
            git_commit=outcome.git_commit if outcome else None,
            errors=errors,
            details={"step": step},
        )
        if outcome is not None:
            outcome.status = "failed"
            for app, error in errors.items():
                outcome.apps[app].error = error
        text = "; ".join(f"{app}: {error}" for app, error in errors.items())
        return DeployError(step, text, outcome)

    async def _fail(
        self, rec: RunRecorder, outcome: DeployOutcome, step: str, message: str
    ) -> DeployError:
        return await self._fail_apps(rec, step, dict.fromkeys(rec.apps, message), outcome)

    # --- helpers --------------------------------------------------------------------------

    def _check_environment(self, environment: str) -> None:
        if environment not in self.project.environments:
            known = ", ".join(self.project.environments)
            raise DeployError(
                "plan", f"environment {environment!r} is not defined (known: {known})"
            )

    def _release_apps(self, release: ReleaseRecord, apps: Sequence[str] | None) -> list[str]:
        unknown = [a for a in release.apps if a not in self.project.apps]
        if unknown:
            raise DeployError(
                "plan",
                f"release {release.id} names apps that shiplane.yaml does not define: "
                + ", ".join(unknown),
            )
        chosen = list(apps) if apps else release.apps
        missing = [a for a in chosen if a not in release.apps]
        if missing:
            raise DeployError(
                "plan", f"release {release.id} has no artifact for: {', '.join(missing)}"
            )
        order = self.project.app_order()
        return sorted(chosen, key=order.index)

    def _plans_from_tree(
        self, environment: str, tree: Path, apps: Sequence[str] | None
    ) -> list[_Plan]:
        names = list(apps) if apps else self.project.app_order()
        unknown = [a for a in names if a not in self.project.apps]
        if unknown:
            raise DeployError("plan", f"unknown app(s): {', '.join(unknown)}")
        plans: list[_Plan] = []
        for app in names:
            path = tree / pin_path(environment, app)
            pin: Pin | None = None
            if path.is_file():
                try:
                    pin = load_pin(path.read_bytes(), source=pin_path(environment, app))
                except PinError as exc:
                    raise DeployError("plan", str(exc)) from None
            elif not path.parent.is_dir():
                # An app is part of an environment once envs/<env>/<app>/ exists: with a
                # pin (written by promotions) or without (the manifests as they are).
                if apps:
                    raise DeployError(
                        "plan",
                        f"{app!r} is not in environment {environment!r}: envs/{environment}/"
                        f"{app}/ does not exist in git (promote a release or create it)",
                    )
                continue
            plans.append(_Plan(app, self.project.apps[app], pin))
        return plans


def deploy_lease(environment: str, app: str) -> str:
    """The lease one deploy or sync of (environment, app) holds, across replicas."""
    return f"deploy/{environment}/{app}"


def _levels(project: ProjectConfig, apps: list[str]) -> list[list[str]]:
    """Apps grouped so that each app's dependsOn (within `apps`) is in an earlier group."""
    remaining = [a for a in project.app_order() if a in apps]
    done: set[str] = set()
    levels: list[list[str]] = []
    while remaining:
        level = [
            a
            for a in remaining
            if all(d in done or d not in apps for d in project.apps[a].depends_on)
        ]
        levels.append(level)
        done.update(level)
        remaining = [a for a in remaining if a not in done]
    return levels


def _problems_text(problems: Sequence[ApplyProblem]) -> str:
    return "; ".join(f"{p.ref}: {p.message}" for p in problems)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    if isinstance(exc, RenderError | ApplyError | DeployError | GitError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)
