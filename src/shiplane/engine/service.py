"""The engine as `shiplane serve` runs it: this module only builds the parts and starts
and stops them in order.

The parts: one GitOps workspace, one connection per cluster, the lease keeper, the
deployer (engine/deploy/), the drift supervisor (engine/drift.py, which also wires the
deployer <-> drift loop), the promotion controller, the notifier, the artifact sources
(engine/sources/), and the diffs the API serves (engine/diffs.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from lightkube import AsyncClient

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, ensure_utc
from shiplane.engine.clusters import ClusterPool, ClusterStatus
from shiplane.engine.deploy import Deployer, DeployOutcome
from shiplane.engine.diffs import Diffs
from shiplane.engine.drift_supervisor import DriftSupervisor
from shiplane.engine.git_push import GitPushFollower
from shiplane.engine.git_removals import RemovalFollower
from shiplane.engine.git_watch import DEFAULT_POLL_SECONDS, GitHeadWatcher
from shiplane.engine.leases import DEFAULT_TTL, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.notify import NotificationWorker, enqueue_event
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.promotions import PromotionController
from shiplane.engine.pull_request_hooks import PullRequestFollower
from shiplane.engine.sources import SourceService
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store import leases as lease_store
from shiplane.store import promotion_controls, releases
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord
from shiplane.targets.checking import check_targets

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
    # Where people reach this server (SHIPLANE_PUBLIC_URL): links in notifications.
    public_url: str | None = None
    # Seconds between looks at the branch head when the project follows git (0: never).
    git_poll: float = DEFAULT_POLL_SECONDS


class Engine:
    def __init__(
        self, db: Database, project: ProjectConfig | ProjectSource, settings: EngineSettings
    ) -> None:
        self.db = db
        # The project in force, shared by every part (swapped by the watcher below).
        self.source = project = ProjectSource.of(project)
        self._target_check: asyncio.Task[None] | None = None
        self.settings = settings
        self.workspace = GitWorkspace(settings.repo_url, settings.cache_dir, branch=settings.branch)
        self.clusters = ClusterPool(project, settings.base_dir)
        self._cluster_probe: tuple[float, list[ClusterStatus] | None] = (0.0, None)
        # SQLite: one process (serve holds a file lock), so leases never wait on a peer.
        self.leases = LeaseKeeper(
            db,
            replica_id=settings.replica_id,
            ttl=settings.lease_ttl,
            single_process=db.dialect == "sqlite",
        )
        self.metrics = EngineMetrics(db, self.leases)
        self.deployer = Deployer(
            db,
            self.workspace,
            project,
            self.clusters,
            health_timeout=settings.health_timeout,
            clock=settings.clock,
            metrics=self.metrics,
            leases=self.leases,
        )
        # Sets the deployer's on_applied: the deployer <-> drift loop (engine/drift.py).
        self.drift = DriftSupervisor(db, project, self.clusters, self.leases, self.deployer)
        self.diffs = Diffs(db, project, self.workspace, self.clusters, self.deployer)
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
            public_url=settings.public_url,
        )
        # A forge's pull_request webhook wakes the promotion waiting for that pull request.
        self.pull_requests = PullRequestFollower(self.workspace.remote_url, self.promotions.wake)
        self.notifier = NotificationWorker(db, project)
        # Artifact sources (engine/sources/): a new image becomes a release through the
        # promotion controller, so its root auto-promotions come in the same transaction.
        # Webhook receivers reach it through `engine.sources_port.SourceRefresher`.
        workspace = self.workspace
        self.sources = SourceService(
            db,
            project,
            self.promotions.create_release,
            clock=settings.clock,
            leases=self.leases,
            last_change=lambda commit, path, urls: workspace.last_change(
                commit, path, fetch_from=urls
            ),
        )
        # Watches the branch head: follows shiplane.yaml there when it was read from git
        # (not from --config FILE), and tells `watcher.on_head_moved` of every new head.
        self.watcher: GitHeadWatcher | None = None
        self.removals: RemovalFollower | None = None
        self.pushes: GitPushFollower | None = None
        if settings.git_poll > 0:
            self.watcher = GitHeadWatcher(self.workspace, project, db, interval=settings.git_poll)
            self.watcher.on_config_applied.append(self._follow_project)
            # Apps whose envs/<env>/<app>/ a push deleted leave the cluster (git_removals.py).
            self.removals = RemovalFollower(self.workspace, self.deployer, self.source)
            self.watcher.on_head_moved.append(self.removals.on_head)
            # A push a forge's webhook announced: its environments are synced at once,
            # after the removals (git_push.py; the webhook wakes the watcher).
            self.pushes = GitPushFollower(
                self.workspace,
                self.deployer,
                project,
                self.watcher,
                held_by_promotion=self._held_by_pull_request,
            )
            self.watcher.on_head_moved.append(self.pushes.on_head)
        self._stopping = False

    @property
    def project(self) -> ProjectConfig:
        """The project in force now."""
        return self.source.project

    async def _follow_project(self, old: ProjectConfig, new: ProjectConfig) -> None:
        """A new shiplane.yaml is in force: the parts that keep state per cluster,
        environment or app adapt (the others read the project when they need it)."""
        retired = self.clusters.follow(old, new)
        if retired:
            log.info("engine.clusters_changed", clusters=retired)
        await self.drift.follow_project(retired)
        await self.promotions.follow_project()
        self.notifier.wake()

    async def _held_by_pull_request(self, environment: str) -> bool:
        def read() -> bool:
            with self.db.session(readonly=True) as s:
                return self.pull_requests.holds(s, environment)

        return await asyncio.to_thread(read)

    def _notify(self, s: Any, event: str, record: Any) -> None:
        # In the promotion's own transaction: a notification exists iff the change does.
        now = utcnow()
        enqueue_event(
            s,
            self.project,
            event,
            promotion_payload(record, s, self.project, event=event, now=now),
            now=now,
            base_url=self.settings.public_url,
        )
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
        await self.drift.acquire()  # before deploys start, so they register with drift
        self._check_targets()
        self.promotions.start()
        self.notifier.start()
        self.sources.start()
        self.drift.claim_in_background()  # the API answers at once meanwhile
        if self.watcher is not None:
            await self.watcher.start()
        if self.removals is not None:
            self.removals.start(await self.workspace.head())
        if self.pushes is not None:
            self.pushes.start(await self.workspace.head())

    def _check_targets(self) -> None:
        """The objects hand-off environments name (`deploy.via: flux`) should exist: said
        at start, as `shiplane validate` says it (a cluster may be reachable only later,
        so this warns; a promotion into such an environment fails with the same words)."""
        project = self.project
        if not any(env.deploy.hands_off for env in project.environments.values()):
            return

        async def check() -> None:
            def clients(name: str) -> AsyncClient:
                return self.clusters.get(name).client

            try:
                found = await check_targets(project, clients, close=False)
            except Exception as exc:  # a check must never stop the server
                log.warning("engine.target_check_failed", error=str(exc))
                return
            for problem in found:
                where = ".".join(str(p) for p in problem.path)
                log.warning("engine.target_problem", field=where, problem=problem.message)

        self._target_check = asyncio.create_task(check(), name="deploy target check")

    async def stop(self) -> None:
        """Stop working and hand every lease back, so other replicas take over now."""
        self._stopping = True
        if self._target_check is not None:
            self._target_check.cancel()
            await asyncio.gather(self._target_check, return_exceptions=True)
        if self.watcher is not None:
            await self.watcher.stop()
        if self.removals is not None:
            await self.removals.stop()
        if self.pushes is not None:
            await self.pushes.stop()
        await self.sources.stop()
        await self.promotions.stop()
        await self.notifier.stop()
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
        if renewed := self.clusters.renew_credentials():
            # A kubeconfig file changed (renewed token, updated Secret): connect anew, and
            # let drift watch through the new connection.
            log.info("engine.cluster_credentials_changed", clusters=renewed)
            await self.drift.follow_project(renewed)
        self.drift.claim_in_background()

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

    async def cluster_statuses(
        self, seconds: float = 3.0, *, max_age: float = 0.0
    ) -> list[ClusterStatus]:
        """Every configured cluster, probed at once (kube/access.py); with `max_age`, the
        last probe when it is at most that many seconds old (pages that refresh often)."""
        taken, last = self._cluster_probe
        if max_age and last is not None and time.monotonic() - taken <= max_age:
            return last
        found = list(
            await asyncio.gather(*(self.clusters.status(n, seconds) for n in self.project.clusters))
        )
        self._cluster_probe = (time.monotonic(), found)
        return found


def utcnow() -> datetime:
    return datetime.now(UTC)


def promotion_payload(
    record: Any,
    s: Any = None,
    project: ProjectConfig | None = None,
    *,
    event: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The promotion as notifications describe it (no secrets: ids, names, states), with
    `kind` and `trigger` named as the API names them. With the session and project: the
    release's alias and version, and for `waiting_for_approval` the approvals."""
    payload: dict[str, Any] = {
        "id": record.id,
        "release": record.release_id,
        "environment": record.environment,
        "apps": list(record.apps),
        "state": record.state,
        "reason": record.reason,
        "requested_by": record.requested_by,
        "kind": record.kind,
        "trigger": record.trigger,
    }
    if s is None:
        return payload
    release = releases.get_release(s, record.release_id)
    if release is not None:
        payload["alias"] = release.alias
        payload["version"] = release_version(release, record.apps)
    policy = project.environments[record.environment].approvals if project else None
    if event == "promotion.waiting_for_approval" and policy is not None:
        moment = now or utcnow()
        approvers = {
            a.user
            for a in promotion_controls.approvals_for(s, record.release_id, record.environment)
            if a.decision == "approve"
            and (moment - ensure_utc(a.at)).total_seconds() < policy.expiry
        }
        payload["approvals"] = {"received": len(approvers), "required": policy.required}
    return payload


def release_version(release: ReleaseRecord, apps: Sequence[str]) -> str | None:
    """The image tag(s) of the promoted apps: `1.4.2`, or `1.4.2, 2.0.1` when they differ."""
    tags = dict.fromkeys(a.tag for a in release.artifacts if a.app in apps and a.tag)
    return ", ".join(t for t in tags if t) or None
