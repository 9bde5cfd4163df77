"""Which clusters this replica watches, and the one callback loop between deploying and
drift, which lives here and only here.

`DriftSupervisor` holds one lease `watch/<cluster>` per cluster it watches (so exactly
one replica writes a cluster's drift status) and wires the loop:

    Deployer (apply step)  --on_applied-->  DriftSupervisor.on_applied
        --> DriftController.on_applied          watch what was just sent
    DriftController (a watched object drifted, the environment has selfHeal)
        --resync-->  DriftSupervisor.self_heal
        --> Deployer.sync(environment, [app])   re-apply what git says
        --on_applied--> ...                     the same objects again: the loop ends

The deployer knows only its `on_applied` listener (and `on_removed`, told when an app
removed from git is no longer deployed, and `live_objects`, the watch caches' copies,
with which apply skips objects a dry-run showed unchanged), the controller only
its `resync` callback; the supervisor sets them (`DriftSupervisor.__init__`), and
`service.py` merely builds it. Deploys made by other replicas reach the watching replica
through the store: on each heartbeat it re-renders the apps whose deployed commit
changed, and stops watching the apps whose deployment row is gone (removed by a sync).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog

from shiplane.config import ProjectConfig
from shiplane.engine import target_status
from shiplane.engine.clusters import ClusterHandle, ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.drift import DriftController
from shiplane.engine.leases import HeldLease, LeaseKeeper
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.promotions.strategy import in_progress as strategy_in_progress
from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.store import deploys
from shiplane.store import promotions as promotion_store
from shiplane.store.db import Database
from shiplane.store.lease_fencing import LeaseLostError

log = structlog.get_logger(__name__)


class DriftSupervisor:
    """Which clusters this replica watches, kept on every heartbeat, and the loop between
    the deployer and the drift controller (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        project: ProjectConfig | ProjectSource,
        clusters: ClusterPool,
        leases: LeaseKeeper,
        deployer: Deployer,
    ) -> None:
        self.db = db
        self.source = ProjectSource.of(project)
        self.clusters = clusters
        self.leases = leases
        self.deployer = deployer
        self.controller = DriftController(
            db, self.source, resync=self.self_heal, guard=self._check_watching
        )
        deployer.on_applied = self.on_applied  # the loop closes here
        deployer.live_objects = self.controller.live  # apply skips what is unchanged
        deployer.on_removed = self.on_removed  # an app removed from git is not watched
        # Cluster watches this replica holds (lease per cluster) and, per watched
        # (environment, app), the commit whose objects drift compares with.
        self._watches: dict[str, HeldLease] = {}
        self._watched_commits: dict[tuple[str, str], str | None] = {}
        self._lock = asyncio.Lock()
        self._claiming: asyncio.Task[None] | None = None

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    async def follow_project(self, reconnected: Sequence[str] = ()) -> None:
        """A new project is in force: stop comparing what it no longer defines, watch
        `reconnected` clusters (new connection settings) through their new connection,
        and watch (or let go of) clusters as its environments now say."""
        project = self.project

        def defined(environment: str, app: str) -> bool:
            return environment in project.environments and app in project.apps

        async with self._lock:
            for key in self.controller.forget(defined):
                self._watched_commits.pop(key, None)
            for name in reconnected:
                await self.controller.stop_cluster(name)
                envs = {e for e, c in project.environments.items() if c.cluster == name}
                for key in [k for k in self._watched_commits if k[0] in envs]:
                    self._watched_commits.pop(key)  # registered again on the next claim
        self.claim_in_background()

    async def acquire(self) -> None:
        """Take the watch lease of every cluster nobody else watches (at start, before
        deploys run, so that they register with drift)."""
        async with self._lock:
            await self._acquire_watches()

    def claim_in_background(self) -> None:
        """Watching what is deployed needs cluster round trips: do it in the background
        (drift status stays Unknown until done); at most one claim runs at a time."""
        if self._claiming is None or self._claiming.done():
            self._claiming = asyncio.create_task(self._claim_watches(), name="cluster watches")

    async def stop(self) -> None:
        if self._claiming is not None:
            self._claiming.cancel()
            await asyncio.gather(self._claiming, return_exceptions=True)
        await self.controller.stop()

    # --- the loop ---------------------------------------------------------------------------

    async def on_applied(
        self,
        environment: str,
        app: str,
        handle: ClusterHandle,
        objects: list[dict[str, Any]],
        commit: str | None,
    ) -> None:
        """The deployer applied: watch the new objects if this replica watches the
        cluster (the watching replica picks up other replicas' deploys on its beat)."""
        if handle.name not in self._watches:
            return
        await self.controller.on_applied(environment, app, handle, objects, commit)
        self._watched_commits[(environment, app)] = commit

    async def on_removed(self, environment: str, app: str, handle: ClusterHandle) -> None:
        self.controller.on_removed(environment, app, handle.name)
        self._watched_commits.pop((environment, app), None)

    async def self_heal(self, environment: str, app: str) -> None:
        env = self.project.environments.get(environment)
        if env is not None and env.deploy.hands_off:
            return  # the agent heals (or not) by its own settings
        lease = None if env is None else self._watches.get(env.cluster)
        if lease is None or not self.leases.valid(lease):
            return  # another replica watches this cluster now; it heals
        if await asyncio.to_thread(self._in_strategy, environment, app):
            # git already pins the release a canary is moving to: a sync now would give
            # the stable objects the new spec mid-canary. The strategy's last step syncs.
            log.info("drift.self_heal_deferred", environment=environment, app=app)
            return
        await self.deployer.sync(environment, [app], actor="shiplane-self-heal")

    def _in_strategy(self, environment: str, app: str) -> bool:
        with self.db.session(readonly=True) as s:
            return any(
                app in record.apps and strategy_in_progress(record)
                for record in promotion_store.open_promotions(s, environment=environment)
            )

    # --- cluster watches ------------------------------------------------------------------

    def _clusters_in_use(self) -> list[str]:
        return sorted({env.cluster for env in self.project.environments.values()})

    async def _claim_watches(self) -> None:
        """Hold the watch lease of every cluster nobody else watches; keep what is watched
        in step with what any replica deployed."""
        async with self._lock:
            await self._acquire_watches()
            for name in list(self._watches):
                await self._refresh_watch(name)

    async def _acquire_watches(self) -> None:
        in_use = self._clusters_in_use()
        for name in [n for n in self._watches if n not in in_use]:
            # No environment uses the cluster any more (shiplane.yaml changed).
            unused = self._watches[name]
            await self._drop_watch(name)
            await self.leases.release_all([unused])
        for name in in_use:
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
        await self.controller.stop_cluster(name)
        log.info("drift.released", cluster=name)

    async def _refresh_watch(self, cluster: str) -> None:
        """Register the desired objects of every app deployed on `cluster` whose commit
        changed since it was registered (deploys by other replicas, or a restart). The
        environments a GitOps agent deploys (`deploy.via`) are not watched: their status is
        the agent's (target_status.py)."""
        mine = {e: c for e, c in self.project.environments.items() if c.cluster == cluster}
        envs = [e for e, c in mine.items() if not c.deploy.hands_off]
        handed_off = [e for e, c in mine.items() if c.deploy.hands_off]
        if handed_off:
            await target_status.refresh(
                self.db,
                self.project,
                self.clusters.get(cluster),
                handed_off,
                clock=self.deployer.clock,
                contains=self.deployer.workspace.contains,
                guard=self._check_watching,
            )

        def commits() -> dict[tuple[str, str], str]:
            with self.db.session(readonly=True) as s:
                return deploys.deployed_commits(s, envs)

        deployed = await asyncio.to_thread(commits)
        gone = [
            key
            for key, commit in self._watched_commits.items()
            if key[0] in envs and key not in deployed and commit is not None
        ]
        for key in gone:
            # Removed from git (by another replica's sync): nothing to compare any more.
            self.controller.on_removed(*key, cluster)
            self._watched_commits.pop(key, None)
        for (environment, app), commit in deployed.items():
            if app not in self.project.apps:
                continue
            if self._watched_commits.get((environment, app)) == commit:
                continue
            try:
                objects = await self.deployer.render(environment, app, commit)
                handle = self.clusters.for_environment(environment)
                sent = [mark_owned(clean(o), environment, app) for o in objects]
                await self.controller.on_applied(environment, app, handle, sent, commit)
                self._watched_commits[(environment, app)] = commit
            except Exception as exc:  # one broken app must not stop the others
                log.warning(
                    "drift.restore_failed", environment=environment, app=app, error=str(exc)
                )

    def _check_watching(self, s: Any, environment: str) -> None:
        """Drift status is written only by the replica watching the cluster."""
        env = self.project.environments.get(environment)
        cluster = "?" if env is None else env.cluster
        lease = self._watches.get(cluster)
        if lease is None:
            raise LeaseLostError(f"watch/{cluster}", self.leases.replica_id, 0, None, -1)
        fence = self.leases.fence(lease)
        fence.assert_held()
        fence.check(s)
