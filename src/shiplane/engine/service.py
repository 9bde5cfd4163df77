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
from shiplane.engine.leases import DEFAULT_TTL, HeldLease, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.notify import NotificationWorker, enqueue_event
from shiplane.engine.promotions import PromotionController
from shiplane.gitops.pins import load_pin, pin_path
from shiplane.gitops.workspace import GitWorkspace
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.kube.apply_rest import request
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.store import leases as lease_store
from shiplane.store.db import Database
from shiplane.store.leases import LeaseLostError
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
    lease_ttl: float = DEFAULT_TTL
    replica_id: str | None = None  # default: host-pid-random


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
        # SQLite: one process (serve holds a file lock), so leases never wait on a peer.
        self.leases = LeaseKeeper(
            db,
            replica_id=settings.replica_id,
            ttl=settings.lease_ttl,
            single_process=db.dialect == "sqlite",
        )
        self.metrics = EngineMetrics(db, self.leases)
        self.drift = DriftController(
            db, project, resync=self._self_heal, guard=self._check_watching
        )
        self.deployer = Deployer(
            db,
            self.workspace,
            project,
            self.clusters,
            health_timeout=settings.health_timeout,
            on_applied=self._on_applied,
            metrics=self.metrics,
            leases=self.leases,
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
            leases=self.leases,
        )
        self.notifier = NotificationWorker(db, project)
        self._restore: asyncio.Task[None] | None = None
        # Cluster watches this replica holds (lease per cluster) and, per watched
        # (environment, app), the commit whose objects drift compares with.
        self._watches: dict[str, HeldLease] = {}
        self._watched_commits: dict[tuple[str, str], str | None] = {}
        self._watch_lock = asyncio.Lock()
        self._stopping = False

    def _notify(self, s: Any, event: str, record: Any) -> None:
        # In the promotion's own transaction: a notification exists iff the change does.
        enqueue_event(s, self.project, event, promotion_payload(record), now=utcnow())
        self.notifier.wake()

    async def start(self) -> None:
        await self.leases.start()
        # Runs left `running` by replicas that are gone (on SQLite: every other process)
        # died with them; their promotions resume and record new runs.
        interrupted = await asyncio.to_thread(self._interrupt_orphaned_runs, True)
        if interrupted:
            log.info("engine.interrupted_runs", count=interrupted)
        await self.workspace.sync()
        self.leases.on_beat.append(self._on_beat)
        await self._acquire_watches()  # before deploys start, so they register with drift
        self.promotions.start()
        self.notifier.start()
        # Watching what is deployed needs cluster round trips: do it in the background so
        # the API answers at once; drift status stays Unknown until it is done.
        self._restore = asyncio.create_task(self._claim_watches(), name="restore drift")

    async def stop(self) -> None:
        """Stop working and hand every lease back, so other replicas take over now."""
        self._stopping = True
        await self.promotions.stop()
        await self.notifier.stop()
        if self._restore is not None:
            self._restore.cancel()
            await asyncio.gather(self._restore, return_exceptions=True)
        await self.drift.stop()
        await self.leases.stop()
        await self.clusters.close()

    def _interrupt_orphaned_runs(self, starting: bool = False) -> int:
        """At start, runs under this replica's own name are a previous life's (a restart
        with the same --replica-id): they are orphans too."""
        me = self.leases.replica_id
        with self.db.session() as s:
            live = lease_store.live_replicas(s) - {me} if starting else {me}
            if not starting:
                live |= lease_store.live_replicas(s)
            return lease_store.interrupt_orphaned_runs(
                s, live=live, reason="the server running this deploy stopped; it was resumed"
            )

    async def _on_beat(self) -> None:
        """After each heartbeat: recover runs of dead replicas, keep cluster watches."""
        if self._stopping:
            return
        await asyncio.to_thread(self._interrupt_orphaned_runs)
        if self._restore is None or self._restore.done():
            self._restore = asyncio.create_task(self._claim_watches(), name="cluster watches")

    # --- cluster watches (drift) ------------------------------------------------------------

    def _clusters_in_use(self) -> list[str]:
        return sorted({env.cluster for env in self.project.environments.values()})

    async def _claim_watches(self) -> None:
        """Hold the watch lease of every cluster nobody else watches; keep what is watched
        in step with what any replica deployed."""
        async with self._watch_lock:
            await self._acquire_watches()
            for name in list(self._watches):
                await self._refresh_watch(name)

    async def _acquire_watches(self) -> None:
        for name in self._clusters_in_use():
            held = self._watches.get(name)
            if held is not None and (held.lost or not self.leases.valid(held)):
                await self._drop_watch(name)
                held = None
            if held is None:
                lease = await self.leases.try_acquire(f"watch/{name}")
                if lease is not None:
                    self._watches[name] = lease
                    log.info("drift.watching", cluster=name, replica=self.leases.replica_id)

    async def _drop_watch(self, name: str) -> None:
        self._watches.pop(name, None)
        envs = {e for e, c in self.project.environments.items() if c.cluster == name}
        for key in [k for k in self._watched_commits if k[0] in envs]:
            self._watched_commits.pop(key, None)
        await self.drift.stop_cluster(name)
        log.info("drift.released", cluster=name)

    async def _refresh_watch(self, cluster: str) -> None:
        """Register the desired objects of every app deployed on `cluster` whose commit
        changed since it was registered (deploys by other replicas, or a restart)."""
        envs = [e for e, c in self.project.environments.items() if c.cluster == cluster]

        def commits() -> dict[tuple[str, str], str]:
            with self.db.session(readonly=True) as s:
                return deploys.deployed_commits(s, envs)

        for (environment, app), commit in (await asyncio.to_thread(commits)).items():
            if app not in self.project.apps:
                continue
            if self._watched_commits.get((environment, app)) == commit:
                continue
            try:
                objects = await self.deployer.render(environment, app, commit)
                handle = self.clusters.for_environment(environment)
                sent = [mark_owned(clean(o), environment, app) for o in objects]
                await self.drift.on_applied(environment, app, handle, sent, commit)
                self._watched_commits[(environment, app)] = commit
            except Exception as exc:  # one broken app must not stop the others
                log.warning(
                    "drift.restore_failed", environment=environment, app=app, error=str(exc)
                )

    async def _on_applied(
        self,
        environment: str,
        app: str,
        handle: Any,
        objects: list[dict[str, Any]],
        commit: str | None,
    ) -> None:
        """The deployer applied: watch the new objects if this replica watches the
        cluster (the watching replica picks up other replicas' deploys on its beat)."""
        if handle.name not in self._watches:
            return
        await self.drift.on_applied(environment, app, handle, objects, commit)
        self._watched_commits[(environment, app)] = commit

    async def _self_heal(self, environment: str, app: str) -> None:
        lease = self._watches.get(self.project.environments[environment].cluster)
        if lease is None or not self.leases.valid(lease):
            return  # another replica watches this cluster now; it heals
        await self.deployer.sync(environment, [app], actor="shiplane-self-heal")

    def _check_watching(self, s: Any, environment: str) -> None:
        """Drift status is written only by the replica watching the cluster."""
        cluster = self.project.environments[environment].cluster
        lease = self._watches.get(cluster)
        if lease is None:
            raise LeaseLostError(f"watch/{cluster}", self.leases.replica_id, 0, None, -1)
        fence = self.leases.fence(lease)
        fence.assert_held()
        fence.check(s)

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
