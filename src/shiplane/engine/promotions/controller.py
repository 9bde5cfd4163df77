"""The promotion controller: what `Engine`, the API and tests hold.

It wires a `Runtime` and the reconcile loop, and offers every request as one awaitable
that runs the request's function in its own transaction and wakes the loop. It holds no
promotion logic of its own: that lives in one module per state or request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.errors import ConflictError
from shiplane.domain.promotion import PromotionKind, PromotionTrigger
from shiplane.engine.leases import Fence, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.promotions import auto, controls, releases, requests, strategy_requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.explain import explain_promotion
from shiplane.engine.promotions.inbox import InboxItem, approvals_inbox
from shiplane.engine.promotions.loop import PromotionLoop, reconcile
from shiplane.engine.promotions.model import Actor
from shiplane.engine.promotions.permissions import Action, ActionCheck, Caller, allowed_actions
from shiplane.engine.promotions.preview import GatePreview, preview_gates
from shiplane.engine.promotions.runtime import ClusterPort, DeployPort, Notify, Runtime
from shiplane.engine.promotions.timing import MAX_PARALLEL
from shiplane.engine.promotions.transitions import get
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord

T = TypeVar("T")


class PromotionController:
    def __init__(
        self,
        db: Database,
        project: ProjectConfig | ProjectSource,
        deployer: DeployPort,
        clusters: ClusterPort,
        *,
        clock: Clock | None = None,
        health_timeout: float = 300.0,
        notify: Notify | None = None,
        metrics: EngineMetrics | None = None,
        leases: LeaseKeeper | None = None,
        max_parallel: int = MAX_PARALLEL,
        public_url: str | None = None,
    ) -> None:
        self.runtime = Runtime(
            db=db,
            source=ProjectSource.of(project),
            deployer=deployer,
            clusters=clusters,
            clock=clock or SystemClock(),
            # Without a keeper from `serve` (tests, benchmarks) the controller is alone.
            leases=leases or LeaseKeeper(db, single_process=True),
            health_timeout=health_timeout,
            notify=notify,
            metrics=metrics,
            public_url=public_url,
        )
        self.loop = PromotionLoop(
            self.runtime, own_leases=leases is None, max_parallel=max_parallel
        )
        self.loop.sweep = self.sweep_auto_promotions
        # (release, environment) pairs this process tried to sweep: a release that cannot
        # be promoted (an app the project does not define) is tried once, not every tick.
        self._swept: set[tuple[str, str]] = set()

    # The parts tests and the engine reach for.
    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def project(self) -> ProjectConfig:
        return self.runtime.project

    @property
    def clusters(self) -> ClusterPort:
        return self.runtime.clusters

    @property
    def leases(self) -> LeaseKeeper:
        return self.runtime.leases

    # --- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self.loop.start()
        # What a killed process left of an aborted canary goes (docs/strategies.md).
        self.runtime.spawn(self._sweep_leftovers(), "strategy leftovers")

    async def _sweep_leftovers(self) -> None:
        await strategy_requests.sweep_leftovers(self.runtime.pinned())

    async def follow_project(self) -> None:
        """A new project is in force: sweep auto-promotions afresh (a pair refused under
        the old one may fit now) and evaluate every waiting promotion again, now, against
        its gates (an approval rule, a window or a freeze may have changed)."""
        self._swept.clear()
        await self.runtime.write(controls.wake_waiting)
        self.wake()

    async def stop(self) -> None:
        await self.loop.stop()
        await self.runtime.stop_background()

    def wake(self) -> None:
        """Look at due promotions now (an approval, an unfreeze, a new release...)."""
        self.loop.wake()

    async def reconcile_due(self) -> None:
        await self.loop.reconcile_due()

    async def reconcile(self, promotion_id: str, fence: Fence | None = None) -> None:
        await reconcile(self.runtime, promotion_id, fence)

    async def settle(self, seconds: float = 60.0) -> None:
        await self.loop.settle(seconds)

    # --- requests -----------------------------------------------------------------------------

    async def _request(self, fn: Callable[[Session], T]) -> T:
        result = await self.runtime.write(fn)
        # A request may be followed by a deploy within milliseconds (no gate waits):
        # the deployer starts its git fetch now, beside the queue and gate steps.
        self.runtime.deployer.prepare()
        self.wake()
        return result

    async def request(
        self,
        release_ref: str,
        environment: str,
        *,
        actor: Actor,
        reason: str = "",
        kind: PromotionKind = "normal",
        trigger: PromotionTrigger = "manual",
        rollback_of: str | None = None,
    ) -> PromotionRecord:
        """Create a promotion (it queues and starts by itself)."""
        return await self._request(
            lambda s: create_promotion(
                self.runtime,
                s,
                release_ref,
                environment,
                actor=actor,
                reason=reason,
                kind=kind,
                trigger=trigger,
                rollback_of=rollback_of,
            )
        )

    async def approve(
        self, promotion_id: str, *, actor: Actor, decision: str, comment: str = ""
    ) -> PromotionRecord:
        return await self._request(
            lambda s: requests.approve(
                self.runtime, s, promotion_id, actor=actor, decision=decision, comment=comment
            )
        )

    async def abort(self, promotion_id: str, *, actor: Actor, reason: str) -> PromotionRecord:
        return await requests.abort_and_reassess(
            self.runtime,
            promotion_id,
            actor=actor,
            reason=reason,
            then=self.wake,
        )

    async def resume(self, promotion_id: str, *, actor: Actor) -> PromotionRecord:
        return await self._request(
            lambda s: requests.resume(self.runtime, s, promotion_id, actor=actor)
        )

    async def skip_step(self, promotion_id: str, *, actor: Actor) -> PromotionRecord:
        return await self._request(
            lambda s: requests.skip_step(self.runtime, s, promotion_id, actor=actor)
        )

    async def retry(self, promotion_id: str, *, actor: Actor) -> PromotionRecord:
        return await self._request(
            lambda s: requests.retry(self.runtime, s, promotion_id, actor=actor)
        )

    async def rollback(
        self,
        environment: str,
        app: str,
        *,
        actor: Actor,
        to: str | None = None,
        reason: str = "",
    ) -> PromotionRecord:
        return await self._request(
            lambda s: requests.rollback(
                self.runtime, s, environment, app, actor=actor, to=to, reason=reason
            )
        )

    async def resolve_check(
        self, promotion_id: str, check: str, *, passed: bool, actor: Actor, comment: str = ""
    ) -> PromotionRecord:
        return await self._request(
            lambda s: requests.resolve_check(
                self.runtime, s, promotion_id, check, passed=passed, actor=actor, comment=comment
            )
        )

    async def set_hold(
        self, environment: str, app: str, *, actor: Actor, on: bool, reason: str = ""
    ) -> bool:
        return await self._request(
            lambda s: controls.set_hold(
                self.runtime, s, environment, app, actor=actor, on=on, reason=reason
            )
        )

    async def set_freeze(
        self, environment: str | None, *, actor: Actor, on: bool, reason: str = ""
    ) -> bool:
        return await self._request(
            lambda s: controls.set_freeze(
                self.runtime, s, environment, actor=actor, on=on, reason=reason
            )
        )

    async def abort_moving(
        self, environment: str | None, *, actor: Actor, reason: str
    ) -> list[str]:
        """A freeze with abort: abort each promotion whose progressive strategy is moving
        in `environment` (None: in any), its canary or preview removed before this
        returns (all traffic on the stable version); the ids aborted."""
        ids = await self.runtime.read(lambda s: controls.moving_strategies(s, environment))
        aborted: list[str] = []
        for promotion_id in ids:
            try:
                await self.abort(promotion_id, actor=actor, reason=reason)
            except ConflictError:
                continue  # it finished (or failed) in the meantime
            aborted.append(promotion_id)
        return aborted

    async def explain(self, promotion_id: str) -> str:
        now = self.runtime.now()
        return await self.runtime.read(lambda s: explain_promotion(s, promotion_id, now=now))

    # --- reads for people (the UI and the API) ---------------------------------------------

    async def actions(self, promotion_id: str, caller: Caller) -> dict[Action, ActionCheck]:
        """What `caller` may do to the promotion now, each refusal with its reason."""
        now = self.runtime.now()
        return await self.runtime.read(
            lambda s: allowed_actions(self.project, s, get(s, promotion_id), caller, now)
        )

    async def inbox(self, caller: Caller) -> list[InboxItem]:
        """Promotions waiting for `caller`'s approval (inbox.py)."""
        now = self.runtime.now()
        return await self.runtime.read(lambda s: approvals_inbox(self.project, s, caller, now))

    async def preview(self, release_ref: str, environment: str, caller: Caller) -> GatePreview:
        """The gates a promotion would meet if `caller` requested it now (preview.py)."""
        return await self.runtime.read(
            lambda s: preview_gates(
                self.runtime,
                s,
                release_ref,
                environment,
                requester=caller.actor.name,
                groups=caller.actor.groups,
                role=caller.role,
                scope=caller.environments,
            )
        )

    async def on_release_created(self, release_id: str) -> None:
        """A new release enters every root environment that auto-promotes."""
        await self._request(lambda s: auto.auto_promote_roots(self.runtime, s, release_id))

    async def create_release(
        self,
        *,
        artifacts: Mapping[str, str],
        alias: str | None,
        labels: Mapping[str, str],
        creator: str,
        charts: Mapping[str, str] | None = None,
        commits: Mapping[str, str] | None = None,
    ) -> tuple[ReleaseRecord, bool]:
        """Store a release with its audit event and root auto-promotions, in one
        transaction; True when it is new."""
        return await self._request(
            lambda s: releases.create_release(
                self.runtime,
                s,
                artifacts=artifacts,
                alias=alias,
                labels=labels,
                creator=creator,
                charts=charts,
                commits=commits,
            )
        )

    async def sweep_auto_promotions(self) -> list[str]:
        """Level-triggered auto-promotion into root environments (run by the loop at start
        and once per tick); the environments it promoted into."""
        if not auto.root_environments(self.runtime):
            return []  # no environment auto-promotes new releases: nothing to look for
        missing = await self.runtime.read(lambda s: auto.unpromoted_roots(self.runtime, s))
        missing = [pair for pair in missing if pair not in self._swept]
        if not missing:
            return []
        self._swept.update(missing)
        created = await self.runtime.write(lambda s: auto.sweep_roots(self.runtime, s, missing))
        if created:
            self.runtime.deployer.prepare()
            self.wake()
        return created
