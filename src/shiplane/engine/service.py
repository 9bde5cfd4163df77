"""The engine as `shiplane serve` runs it: one GitOps workspace, one connection per
cluster, the deployer, the drift controller, and the operations the API exposes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deployer import Deployer, DeployError, DeployOutcome
from shiplane.engine.diffs import AppDiff, ObjectDiff, app_diff, env_object_diffs
from shiplane.engine.drift import DriftController
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.notify import NotificationWorker, enqueue_event
from shiplane.engine.promotions import PromotionController
from shiplane.gitops.pins import load_pin, pin_path
from shiplane.gitops.workspace import GitWorkspace
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.kube.apply_rest import request
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    repo_url: str
    cache_dir: Path
    branch: str = "main"
    base_dir: Path = Path(".")
    health_timeout: float = 300.0
    clock: Clock | None = None  # injectable for tests; the system clock otherwise


@dataclass
class EnvDiff:
    a: str
    b: str
    apps: dict[str, list[ObjectDiff]]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "apps": {app: [o.to_json() for o in objs] for app, objs in self.apps.items()},
            "changed": any(o.diff for objs in self.apps.values() for o in objs),
        }


class Engine:
    def __init__(self, db: Database, project: ProjectConfig, settings: EngineSettings) -> None:
        self.db = db
        self.project = project
        self.settings = settings
        self.workspace = GitWorkspace(settings.repo_url, settings.cache_dir, branch=settings.branch)
        self.clusters = ClusterPool(project, settings.base_dir)
        self.metrics = EngineMetrics(db)
        self.drift = DriftController(db, project, resync=self._self_heal)
        self.deployer = Deployer(
            db,
            self.workspace,
            project,
            self.clusters,
            health_timeout=settings.health_timeout,
            on_applied=self.drift.on_applied,
            metrics=self.metrics,
        )
        self.promotions = PromotionController(
            db,
            project,
            self.deployer,
            self.clusters,
            clock=settings.clock,
            health_timeout=settings.health_timeout,
            notify=self._notify,
            metrics=self.metrics,
        )
        self.notifier = NotificationWorker(db, project)
        self._restore: asyncio.Task[None] | None = None

    def _notify(self, s: Any, event: str, record: Any) -> None:
        # In the promotion's own transaction: a notification exists iff the change does.
        enqueue_event(s, self.project, event, promotion_payload(record), now=utcnow())
        self.notifier.wake()

    async def start(self) -> None:
        # One process owns the engine (SQLite): runs left `running` died with the previous
        # process; their promotions resume and record new runs.
        def interrupt() -> int:
            with self.db.session() as s:
                return deploys.interrupt_running_runs(
                    s, reason="the server stopped during this run; it was resumed"
                )

        interrupted = await asyncio.to_thread(interrupt)
        if interrupted:
            log.info("engine.interrupted_runs", count=interrupted)
        await self.workspace.sync()
        self.promotions.start()
        self.notifier.start()
        # Watching what is deployed needs cluster round trips: do it in the background so
        # the API answers at once; drift status stays Unknown until it is done.
        self._restore = asyncio.create_task(self._restore_drift(), name="restore drift")

    async def stop(self) -> None:
        await self.promotions.stop()
        await self.notifier.stop()
        if self._restore is not None:
            self._restore.cancel()
            await asyncio.gather(self._restore, return_exceptions=True)
        await self.drift.stop()
        await self.clusters.close()

    async def _restore_drift(self) -> None:
        def deployed() -> list[tuple[str, str]]:
            with self.db.session(readonly=True) as s:
                return deploys.deployed_pairs(s)

        pairs = await asyncio.to_thread(deployed)
        for environment, app in pairs:
            if environment not in self.project.environments or app not in self.project.apps:
                continue
            try:
                objects = await self.deployer.render(environment, app)
                handle = self.clusters.for_environment(environment)
                sent = [mark_owned(clean(o), environment, app) for o in objects]
                await self.drift.on_applied(environment, app, handle, sent)
            except Exception as exc:  # one broken app must not stop the others
                log.warning(
                    "drift.restore_failed", environment=environment, app=app, error=str(exc)
                )

    async def _self_heal(self, environment: str, app: str) -> None:
        await self.deployer.sync(environment, [app], actor="shiplane-self-heal")

    # --- operations -----------------------------------------------------------------------

    async def deploy(
        self,
        release: ReleaseRecord,
        environment: str,
        *,
        actor: str,
        apps: Sequence[str] | None = None,
        promotion_id: str | None = None,
    ) -> DeployOutcome:
        return await self.deployer.deploy(
            release, environment, actor=actor, apps=apps, promotion_id=promotion_id
        )

    async def sync(
        self, environment: str, apps: Sequence[str] | None, *, actor: str, wait: bool = True
    ) -> DeployOutcome:
        return await self.deployer.sync(environment, apps, actor=actor, wait=wait)

    async def diff(self, environment: str, app: str) -> AppDiff:
        head = await self.workspace.sync()
        objects = await self.deployer.render(environment, app, head)
        handle = self.clusters.for_environment(environment)
        previews = await handle.applier.preview(objects, environment=environment, app=app)
        current = {ObjRef.of(o) for o in objects}
        inventory = await asyncio.to_thread(self._inventory, environment, app)
        stale_refs = [
            r
            for r in inventory
            if r not in current
            and (r.group, r.kind, r.namespace, r.name)
            not in {(c.group, c.kind, c.namespace, c.name) for c in current}
        ]
        stale: list[tuple[ObjRef, dict[str, Any] | None]] = []
        for ref in stale_refs:
            info = await handle.discovery.resource(ref.api_version, ref.kind)
            live = None
            if info is not None:
                from shiplane.kube.health_wait import get_live

                live = await get_live(handle.client, ref)
            stale.append((ref, live))
        return app_diff(environment, app, head, previews, stale)

    async def cluster_problems(self, seconds: float = 3.0) -> dict[str, str]:
        """Clusters whose API server does not answer in time, with the reason (for /readyz)."""

        async def probe(name: str) -> tuple[str, str | None]:
            try:
                handle = self.clusters.get(name)
                async with asyncio.timeout(seconds):
                    await request(handle.client, "GET", "/version")
            except Exception as exc:  # any failure means not ready; the reason is logged
                return name, type(exc).__name__
            return name, None

        results = await asyncio.gather(*(probe(n) for n in self.project.clusters))
        return {name: why for name, why in results if why is not None}

    def _inventory(self, environment: str, app: str) -> list[ObjRef]:
        with self.db.session(readonly=True) as s:
            return [ObjRef.from_json(o) for o in deploys.get_inventory(s, environment, app) or []]

    async def diff_envs(self, a: str, b: str, apps: Sequence[str] | None = None) -> EnvDiff:
        for env in (a, b):
            if env not in self.project.environments:
                raise DeployError("plan", f"environment {env!r} is not defined")
        head = await self.workspace.sync()
        tree = await self.workspace.read_tree(head)
        names = list(apps) if apps else self.project.app_order()
        result: dict[str, list[ObjectDiff]] = {}
        for app in names:
            have = [env for env in (a, b) if (tree / pin_path(env, app)).parent.is_dir()]
            if len(have) < 2:
                if apps:
                    missing = [e for e in (a, b) if e not in have]
                    raise DeployError("plan", f"{app!r} is not in {', '.join(missing)}")
                continue
            a_objs = await self.deployer.render(a, app, head)
            b_objs = await self.deployer.render(b, app, head)
            repos = set(self.project.apps[app].images)
            for env in (a, b):
                pin_file = tree / pin_path(env, app)
                if pin_file.is_file():
                    repos.update(i.repository for i in load_pin(pin_file.read_bytes()).images)
            result[app] = env_object_diffs(a, a_objs, b, b_objs, repos)
        return EnvDiff(a, b, result)


def utcnow() -> datetime:
    return datetime.now(UTC)


def promotion_payload(record: Any) -> dict[str, Any]:
    """The promotion as notifications describe it (no secrets: ids, names, states)."""
    kind = (
        "rollback"
        if record.kind == "rollback"
        else ("auto" if record.trigger == "auto" else "promote")
    )
    return {
        "id": record.id,
        "release": record.release_id,
        "environment": record.environment,
        "apps": list(record.apps),
        "state": record.state,
        "reason": record.reason,
        "requested_by": record.requested_by,
        "kind": kind,
    }
