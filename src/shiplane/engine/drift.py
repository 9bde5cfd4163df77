"""Drift: one watch cache per cluster, sync status into the store, optional self-heal.

`DriftController` holds the watch caches: after every apply the deployer registers the
desired objects of an (environment, app); the cluster's watch cache sees every change of
a managed object; the detector compares it with the desired state and the controller
records Synced/OutOfSync with the field-level diff (secrets masked), and re-syncs the app
when its environment asks for self-heal (debounced, so a flapping field cannot make it
spin), through the `resync` callback it is given. Which replica watches which cluster,
and the loop between the deployer and this controller, are `drift_supervisor.py`'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog

from shiplane.config import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.health import SyncStatus
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.locks import KeyedLocks
from shiplane.engine.project_source import ProjectSource
from shiplane.kube import access
from shiplane.kube.apply_rest import KubeForbiddenError
from shiplane.kube.diff import FieldDiff
from shiplane.kube.drift import AppSync, DriftDetector
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_namespaces import WatchView, watch_cache
from shiplane.kube.watch_objects import ResourceKind
from shiplane.store import deploys
from shiplane.store.db import Database
from shiplane.store.leases import LeaseLostError

log = structlog.get_logger(__name__)

Resync = Callable[[str, str], Awaitable[Any]]
# Checked in the transaction of every status write, with the environment: raises when
# this replica no longer watches the environment's cluster (its lease was taken).
WriteGuard = Callable[[Any, str], None]

# Kinds watched from the start, so that typical apps never cause a cache rebuild.
BASE_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
)
SELF_HEAL_MIN_INTERVAL = 5.0  # seconds between two self-heals of one (environment, app)


class _ClusterDrift:
    """The cache and detector of one cluster; rebuilt when a new kind must be watched."""

    def __init__(self, handle: ClusterHandle, controller: DriftController) -> None:
        self.handle = handle
        self.controller = controller
        self.kinds: dict[tuple[str, str], ResourceKind] = {}
        self.cache: WatchView | None = None
        self.detector: DriftDetector | None = None
        self.desired: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.lock = asyncio.Lock()

    async def register(self, environment: str, app: str, objects: list[dict[str, Any]]) -> None:
        async with self.lock:
            self.desired[(environment, app)] = objects
            needed = await self._kinds_for(objects)
            if self.cache is None or any(k not in self.kinds for k in needed):
                for key, kind in needed.items():
                    self.kinds.setdefault(key, kind)
                await self._rebuild()
            else:
                assert self.detector is not None
                self.detector.register(environment, app, objects)

    async def _kinds_for(
        self, objects: Sequence[Mapping[str, Any]]
    ) -> dict[tuple[str, str], ResourceKind]:
        found: dict[tuple[str, str], ResourceKind] = {}
        for api_version, kind in [*BASE_KINDS, *((o["apiVersion"], o["kind"]) for o in objects)]:
            info = await self.handle.discovery.resource(api_version, kind)
            if info is not None:
                found[(api_version, kind)] = ResourceKind.from_info(info)
        return found

    async def _rebuild(self) -> None:
        await self.stop()
        if self.handle.namespaces is None and not await self._watch_allowed():
            # Refused watches would retry until the start's deadline; say why at once.
            raise KubeForbiddenError(
                f"drift cannot watch cluster {self.handle.name}: its credentials may not "
                "list deployments.apps across all namespaces",
                None,
            ).explained(
                f"credentials limited to some namespaces need `clusters.{self.handle.name}."
                "namespaces` in shiplane.yaml (docs/clusters.md)"
            )
        cache = watch_cache(self.handle.client, list(self.kinds.values()), self.handle.namespaces)
        detector = DriftDetector(
            cache, on_status=self.controller.on_status, on_drift=self.controller.on_drift
        )
        try:
            await cache.start(timeout=60)
        except BaseException:
            # A start that failed or was cancelled (a shutdown) leaves no watch running.
            await asyncio.shield(cache.stop())
            raise
        for (environment, app), objects in self.desired.items():
            detector.register(environment, app, objects)
        self.cache, self.detector = cache, detector

    async def _watch_allowed(self) -> bool:
        """Whether the credentials may list across namespaces (cluster-wide watches); a
        review that fails to answer does not stop the watches from being tried."""
        try:
            return await access.allowed(self.handle.client, "list", "apps", "deployments")
        except Exception:
            return True

    def unregister(self, environment: str, app: str) -> None:
        self.desired.pop((environment, app), None)
        if self.detector is not None:
            self.detector.unregister(environment, app)

    def status(self, environment: str, app: str) -> AppSync | None:
        if self.detector is None or (environment, app) not in self.desired:
            return None
        return self.detector.status(environment, app)

    async def stop(self) -> None:
        if self.detector is not None:
            self.detector.close()
            await self.detector.drain()
        if self.cache is not None:
            await self.cache.stop()
        self.cache, self.detector = None, None


class DriftController:
    def __init__(
        self,
        db: Database,
        project: ProjectConfig | ProjectSource,
        *,
        resync: Resync | None = None,
        clock: Clock | None = None,
        guard: WriteGuard | None = None,
    ) -> None:
        self.db = db
        self.source = ProjectSource.of(project)
        self.resync = resync
        self.guard = guard
        self.clock: Clock = clock or SystemClock()
        self._clusters: dict[str, _ClusterDrift] = {}
        self._last_heal: dict[tuple[str, str], float] = {}
        self._healing: set[tuple[str, str]] = set()
        self._latest: dict[tuple[str, str], AppSync] = {}
        self._write_locks: KeyedLocks[tuple[str, str]] = KeyedLocks()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    async def on_applied(
        self,
        environment: str,
        app: str,
        handle: ClusterHandle,
        objects: list[dict[str, Any]],
        commit: str | None = None,
    ) -> None:
        """The deployer's hook: from now on, `objects` is what (environment, app) wants."""
        if self._stopped:
            return  # a deploy that finishes during shutdown must not start a new watch
        cluster = self._clusters.get(handle.name)
        if cluster is None:
            cluster = self._clusters[handle.name] = _ClusterDrift(handle, self)
        await cluster.register(environment, app, objects)

    def on_removed(self, environment: str, app: str, cluster: str) -> None:
        """(environment, app) is no longer deployed: stop comparing it (no status, no
        self-heal)."""
        drift = self._clusters.get(cluster)
        if drift is not None:
            drift.unregister(environment, app)

    async def stop_cluster(self, name: str) -> None:
        """Stop watching one cluster (another replica watches it now)."""
        cluster = self._clusters.pop(name, None)
        if cluster is not None:
            await cluster.stop()

    def watching(self, name: str) -> bool:
        return name in self._clusters

    def live(self, cluster: str, ref: ObjRef) -> dict[str, Any] | None:
        """The object as `cluster`'s watch cache holds it now; None when not cached (not
        watched here, its kind not watched or not listed yet, or absent)."""
        drift = self._clusters.get(cluster)
        cache = None if drift is None else drift.cache
        if cache is None or not cache.is_synced(ref.api_version, ref.kind):
            return None
        return cache.get(ref)

    def status(self, environment: str, app: str) -> AppSync | None:
        env = self.project.environments.get(environment)
        if env is None:
            return None  # removed from shiplane.yaml meanwhile
        cluster = self._clusters.get(env.cluster)
        return None if cluster is None else cluster.status(environment, app)

    async def on_status(self, environment: str, app: str, sync: AppSync) -> None:
        # Status changes arrive as concurrent tasks; writes of one app are serialised and
        # always write the newest status, so an older one can never land last.
        key = (environment, app)
        self._latest[key] = sync
        async with self._write_locks.hold(key):
            newest = self._latest.pop(key, None)
            if newest is None:
                return  # a previous holder of the lock already wrote the newest status
            await self._write_status(environment, app, newest)

    async def _write_status(self, environment: str, app: str, sync: AppSync) -> None:
        detail = [_diff_json(d) for d in sync.diffs] or None

        guard = self.guard

        def write() -> None:
            with self.db.session() as s:
                if guard is not None:
                    guard(s, environment)
                deploys.update_deployment(
                    s,
                    environment=environment,
                    app=app,
                    sync_status=str(sync.status),
                    sync_detail=detail,
                    # A removed app's row is gone for good: a late status must not
                    # bring it back into the matrix.
                    create=False,
                    now=self.clock.now,
                )

        try:
            await asyncio.to_thread(write)
        except LeaseLostError as exc:
            log.warning("drift.not_watching", environment=environment, app=app, error=str(exc))
            return
        log.info(
            "drift.status",
            environment=environment,
            app=app,
            status=str(sync.status),
            fields=[d.path for d in sync.diffs][:10],
        )

    async def on_drift(self, environment: str, app: str, diffs: list[FieldDiff]) -> None:
        env = self.project.environments.get(environment)
        if env is None or not env.self_heal or self.resync is None:
            return
        key = (environment, app)
        if key in self._healing:
            return
        wait = self._last_heal.get(key, 0.0) + SELF_HEAL_MIN_INTERVAL - time.monotonic()
        self._healing.add(key)
        task = asyncio.create_task(self._heal(key, max(wait, 0.0)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _heal(self, key: tuple[str, str], delay: float) -> None:
        environment, app = key
        try:
            if delay:
                await asyncio.sleep(delay)
            status = self.status(environment, app)
            if status is None or status.status is not SyncStatus.OUT_OF_SYNC:
                return
            log.info("drift.self_heal", environment=environment, app=app)
            assert self.resync is not None
            await self.resync(environment, app)
        except Exception:
            log.exception("drift.self_heal_failed", environment=environment, app=app)
        finally:
            self._last_heal[key] = time.monotonic()
            self._healing.discard(key)

    def forget(self, keep: Callable[[str, str], bool]) -> list[tuple[str, str]]:
        """Stop comparing the (environment, app) pairs `keep` refuses (shiplane.yaml no
        longer defines them); the pairs dropped."""
        dropped = []
        for cluster in self._clusters.values():
            for key in [k for k in cluster.desired if not keep(*k)]:
                cluster.desired.pop(key)
                if cluster.detector is not None:
                    cluster.detector.unregister(*key, notify=False)
                dropped.append(key)
        return dropped

    async def stop(self) -> None:
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for cluster in self._clusters.values():
            await cluster.stop()
        self._clusters.clear()


def _diff_json(diff: FieldDiff) -> dict[str, Any]:
    data = diff.to_json()
    if diff.ref is not None:
        data["object"] = str(diff.ref)
    return data


__all__ = ["DriftController", "ObjRef"]
