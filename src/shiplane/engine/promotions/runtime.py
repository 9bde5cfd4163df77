"""What every promotion step works with: the store, fenced writes, the clock, leases,
metrics, notifications, and the two ports to the outside (deployer, verifier).

The state handlers, requests and the auto-promoter take a `Runtime` and nothing else, so
no step calls back into the controller, and a unit test can hand them a runtime with an
in-memory deployer and verifier on a throwaway SQLite database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock
from shiplane.domain.promotion import Promotion
from shiplane.engine.leases import Fence, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.promotions.live_health import LiveHealthFn, assess_live
from shiplane.engine.verification import VerifyRound, verify_round
from shiplane.forge import ForgeDriver, make_driver
from shiplane.store import promotions as store
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord

if TYPE_CHECKING:
    from shiplane.engine.clusters import ClusterHandle

T = TypeVar("T")

Notify = Callable[[Session, str, PromotionRecord], None]
"""Queue a notification in the promotion's own transaction (event name, promotion)."""


class DeployedLike(Protocol):
    @property
    def git_commit(self) -> str | None: ...


class DeployPort(Protocol):
    """What promotions need of the deployer: commit a release's pins and sync them."""

    async def deploy(
        self,
        release: ReleaseRecord,
        environment: str,
        *,
        actor: str,
        apps: Sequence[str] | None = None,
        promotion_id: str | None = None,
        kind: Any = "deploy",
        wait: bool = True,
        fence: Fence | None = None,
        to_cluster: bool = True,
        inspect: Any = None,
        propose: str | None = None,
        merged: str | None = None,
    ) -> DeployedLike: ...

    async def base_head(self) -> str:
        """The remote head of the branch the clusters follow (pull-request mode)."""
        ...

    def prepare(self) -> None:
        """A deploy may follow soon: start what can be done ahead of it (and is still
        right when it starts). Returns at once."""


class ClusterPort(Protocol):
    def for_environment(self, environment: str) -> ClusterHandle: ...

    async def close(self) -> None: ...


def project_forge(project: ProjectConfig) -> ForgeDriver:
    """The driver of the project's forge (pull-request mode); its token read now."""
    if project.forge is None:
        raise ValueError("the project has no forge configured")
    return make_driver(project.forge)


ForgeFn = Callable[[ProjectConfig], ForgeDriver]
"""Makes the driver of the project's forge; a test may replace it."""

VerifyFn = Callable[..., Awaitable[VerifyRound]]
"""`verification.verify_round`'s signature (keyword arguments); a test may replace it."""


@dataclass
class Runtime:
    db: Database
    source: ProjectSource
    """The project in force; a step reads it through `pinned()` (one version per step)."""
    deployer: DeployPort
    clusters: ClusterPort
    clock: Clock
    leases: LeaseKeeper
    health_timeout: float = 300.0
    notify: Notify | None = None
    metrics: EngineMetrics | None = None
    verify_round: VerifyFn = field(default=verify_round)
    live_health: LiveHealthFn = field(default=assess_live)
    forge: ForgeFn = field(default=project_forge)
    public_url: str | None = None
    """Where people reach this server (links in pull requests), when known."""
    background: set[asyncio.Task[None]] = field(default_factory=set)
    """Work a step starts and does not wait for (health after an abort); the controller
    cancels what is left when it stops."""

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    @property
    def config_commit(self) -> str | None:
        """The GitOps commit of the shiplane.yaml in force (None: read from a file)."""
        return self.source.version.commit

    def pinned(self) -> Runtime:
        """This runtime with the project fixed at the version in force now: what one
        promotion step works with, so a config swap never lands in the middle of it."""
        return replace(self, source=self.source.pinned())

    def now(self) -> datetime:
        return self.clock.now()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def stop_background(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)

    # --- the store ----------------------------------------------------------------------

    async def read(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.db.session(readonly=True) as s:
                return fn(s)

        return await asyncio.to_thread(run)

    async def write(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.db.transact, fn)

    async def deploy_promotion(
        self,
        p: Promotion,
        release: ReleaseRecord,
        fence: Fence | None,
        *,
        to_cluster: bool = True,
        inspect: Any = None,
        propose: str | None = None,
        merged: str | None = None,
    ) -> DeployedLike:
        """The deploy every promotion path asks for (pushed, proposed, merged): the
        promotion's apps with its requester as actor, a rollback kept a rollback, no wait
        (verification waits), under the promotion's lease."""
        return await self.deployer.deploy(
            release,
            p.environment,
            actor=p.requested_by,
            apps=list(p.apps),
            promotion_id=p.id,
            kind="rollback" if p.kind == "rollback" else "deploy",
            wait=False,
            fence=fence,
            to_cluster=to_cluster,
            inspect=inspect,
            propose=propose,
            merged=merged,
        )

    async def fenced(
        self, fence: Fence | None, fn: Callable[[Session], T], *, queues: Sequence[str] = ()
    ) -> T:
        """A write on behalf of a promotion's worker: only while it holds the lease.
        `queues`: environments whose queue the write may change (lock order: lease rows,
        promotion row, queues, audit chain)."""

        def run(s: Session) -> T:
            if fence is not None:
                fence.check(s)
            store.lock_queues(s, queues)
            return fn(s)

        return await self.write(run)

    def queues_touched(self, environment: str) -> list[str]:
        """Where finishing a promotion in `environment` may create promotions: its own
        queue (a rollback) and every environment that auto-promotes from it."""
        downstream = [
            name
            for name, env in self.project.environments.items()
            if env.auto_promote and environment in env.after.environments
        ]
        return [environment, *downstream]

    def ordered_apps(self, apps: Sequence[str]) -> list[str]:
        """`apps` in the project's declared order (a release train applies in that order)."""
        order = self.project.app_order()
        return sorted(apps, key=lambda a: order.index(a) if a in order else len(order))

    # --- metrics and notifications ------------------------------------------------------

    def observe_gate_wait(self, environment: str, since: datetime | None) -> None:
        if self.metrics is not None:
            self._observe(self.metrics.gate_wait_seconds.labels(environment), since)

    def observe_verification(self, outcome: str, since: str | None) -> None:
        if self.metrics is None or not since:
            return
        with contextlib.suppress(ValueError):
            started = datetime.fromisoformat(since)
            self._observe(self.metrics.verify_seconds.labels(outcome), started)

    def _observe(self, histogram: Any, since: datetime | None) -> None:
        if since is not None:
            histogram.observe((self.now() - since).total_seconds())

    def emit(self, s: Session, event: str, record: PromotionRecord) -> None:
        if self.notify is not None:
            self.notify(s, event, record)
