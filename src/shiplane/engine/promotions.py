"""The promotion controller: level-triggered reconciliation of persisted promotions.

Every promotion is a row; every move is a transition of the domain state machine written
in one transaction together with its step and its audit event. The reconciler looks at
promotions whose next check is due (or that an event woke) and takes the next step:

    Pending -> Waiting (queue) -> Deploying (gates passed) -> Verifying (deployed)
            -> Succeeded (verified) | Failed -> RollingBack -> RolledBack

Waits are states with a next-check time, never a blocked worker. Each step is safe to
repeat after a crash: the commit is recognised by its Shiplane-Promotion trailer, apply
is server-side apply, checks resume from their persisted state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.promotion import (
    Promotion,
    PromotionEvent,
    PromotionKind,
    PromotionState,
    PromotionTrigger,
    Step,
)
from shiplane.domain.promotion_controls import Approval, Freeze, Hold
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.domain.promotion_queue import may_auto_promote, next_to_start, superseded_by
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer, DeployError
from shiplane.engine.faults import fault_point
from shiplane.engine.leases import Fence, HeldLease, LeaseKeeper
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.verification import verify_round
from shiplane.gates import (
    GateContext,
    GateResult,
    ReleaseInfo,
    TargetEnvironment,
    check_approver,
    evaluate_all,
    explain,
    gates_for,
    next_check,
    overall,
)
from shiplane.gates.checks import base as checks_base
from shiplane.gates.checks.runner import resolve_inconclusive
from shiplane.kube.refs import ObjRef
from shiplane.store import audit, deploys, releases
from shiplane.store import leases as lease_store
from shiplane.store import promotions as store
from shiplane.store.db import Database
from shiplane.store.leases import LeaseLostError
from shiplane.store.promotions import PromotionRecord, StaleStateError
from shiplane.store.records import ReleaseRecord

log = structlog.get_logger(__name__)
T = TypeVar("T")
S = PromotionState
E = PromotionEvent

IDLE_RECHECK = timedelta(seconds=30)  # waits with no known end are re-checked this often
TICK_SECONDS = 1.0
MAX_PARALLEL = 64  # promotions one replica works on at once


class PromotionError(Exception):
    """A request that cannot be carried out; `status` suggests the HTTP status."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Actor:
    name: str
    groups: tuple[str, ...] = ()


class PromotionController:
    def __init__(
        self,
        db: Database,
        project: ProjectConfig,
        deployer: Deployer,
        clusters: ClusterPool,
        *,
        clock: Clock | None = None,
        health_timeout: float = 300.0,
        notify: Callable[[Session, str, PromotionRecord], None] | None = None,
        metrics: EngineMetrics | None = None,
        leases: LeaseKeeper | None = None,
        max_parallel: int = MAX_PARALLEL,
    ) -> None:
        self.db = db
        self.project = project
        self.deployer = deployer
        self.clusters = clusters
        self.clock: Clock = clock or SystemClock()
        self.health_timeout = health_timeout
        self.notify = notify
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[str] = set()
        self._workers: set[asyncio.Task[None]] = set()
        # Without a keeper from `serve` (tests, benchmarks) the controller is alone.
        self._own_leases = leases is None
        self.leases = leases or LeaseKeeper(db, single_process=True)
        self.max_parallel = max_parallel

    # --- lifecycle ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name="promotion reconciler")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._workers):
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._own_leases:
            await self.leases.stop()

    def wake(self) -> None:
        """Look at due promotions now (an approval, an unfreeze, a new release...)."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.reconcile_due()
            except Exception:
                log.exception("promotion.reconcile_loop_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=TICK_SECONDS)

    async def reconcile_due(self) -> None:
        """Claim due promotions that no live replica works on (a lease each) and start a
        worker for each. Promotions of different (environment, app) slots progress in
        parallel, on this replica and across replicas."""
        if self._own_leases:
            await self.leases.ensure_started()
        room = self.max_parallel - len(self._inflight)
        if room <= 0:
            return
        busy = set(self._inflight)
        claimed_at = time.monotonic()
        claims = await self._write(
            lambda s: lease_store.claim_due_promotions(
                s,
                self.leases.replica_id,
                due_at=self.now(),
                ttl=self.leases.ttl,
                exclude=busy,
                limit=room,
            )
        )
        for lease in self.leases.track_claims(claims, claimed_at):
            promotion_id = lease.name
            self._inflight.add(promotion_id)
            task = asyncio.create_task(
                self._work(promotion_id, lease), name=f"promotion {promotion_id}"
            )
            # A lease lost to another replica stops the work at once; the fences stop
            # any write that would still be on its way.
            lease.on_lost.append(_canceller(task))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    async def _work(self, promotion_id: str, lease: HeldLease) -> None:
        fence = self.leases.fence(lease)
        try:
            await self.reconcile(promotion_id, fence)
        except LeaseLostError as exc:
            log.warning("promotion.lease_lost", promotion=promotion_id, error=str(exc))
        except asyncio.CancelledError:
            if not lease.lost:
                raise  # shutting down: stop() hands the lease back
            log.warning("promotion.lease_lost", promotion=promotion_id, error="taken over")
        except Exception:
            log.exception("promotion.reconcile_failed", promotion=promotion_id)
            # Look again later rather than spin on a persistent error.
            with contextlib.suppress(LeaseLostError):
                await self._fenced(
                    fence, lambda s: _postpone(s, promotion_id, self.now() + IDLE_RECHECK)
                )
        finally:
            self._inflight.discard(promotion_id)
        with contextlib.suppress(Exception):
            await self.leases.release_promotion(lease)

    async def settle(self, seconds: float = 60.0) -> None:
        """Reconcile until nothing is due or running (for tests and the demo)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            await self.reconcile_due()
            if self._workers:
                await asyncio.gather(*list(self._workers), return_exceptions=True)
                continue
            due = await self._read(lambda s: store.due_promotion_ids(s, self.now()))
            if not due:
                return
        raise TimeoutError("promotions did not settle")

    # --- database helpers -----------------------------------------------------------------

    async def _read(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.db.session(readonly=True) as s:
                return fn(s)

        return await asyncio.to_thread(run)

    async def _write(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.db.transact, fn)

    async def _fenced(
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

        return await self._write(run)

    def _queues_touched(self, environment: str) -> list[str]:
        """Where finishing a promotion in `environment` may create promotions: its own
        queue (a rollback) and every environment that auto-promotes from it."""
        downstream = [
            name
            for name, env in self.project.environments.items()
            if env.auto_promote and environment in env.after.environments
        ]
        return [environment, *downstream]

    # --- requests (API) -------------------------------------------------------------------

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
        """Create a promotion (it queues and starts by itself). Raises PromotionError."""
        record = await self._write(
            lambda s: self.create_in(
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
        self.wake()
        return record

    def create_in(
        self,
        s: Session,
        release_ref: str,
        environment: str,
        *,
        actor: Actor,
        reason: str = "",
        kind: PromotionKind = "normal",
        trigger: PromotionTrigger = "manual",
        rollback_of: str | None = None,
        audit_event: bool = True,
    ) -> PromotionRecord:
        if environment not in self.project.environments:
            known = ", ".join(self.project.environment_order())
            raise PromotionError(
                f"environment {environment!r} is not defined (known: {known})", 404
            )
        release = releases.get_release(s, release_ref)
        if release is None:
            raise PromotionError(
                f"no release matches {release_ref!r} (by id, unique id prefix or alias)", 404
            )
        self._check_release_fits(s, release, environment)
        store.lock_queue(s, environment)
        now = self.now()
        promotion = Promotion(
            id=new_promotion_id(now),
            release_id=release.id,
            environment=environment,
            apps=tuple(self._ordered(release.apps)),
            requested_by=actor.name,
            created_at=now,
            kind=kind,
            trigger=trigger,
            reason=reason or "queued",
            updated_at=now,
            rollback_of=rollback_of,
        )
        open_now = [r.domain() for r in store.open_promotions(s, environment=environment)]
        if trigger == "auto":
            for older in superseded_by(open_now, promotion):
                self._transition(
                    s, older, E.SUPERSEDED, f"superseded by {promotion.id}", actor="shiplane"
                )
        record = store.insert_promotion(
            s, promotion, next_check_at=None, data={"request_reason": reason}
        )
        store.add_step(
            s,
            promotion.id,
            Step("requested", now, now, "succeeded", f"{trigger} {kind} by {actor.name}"),
        )
        if audit_event:
            audit.append_event(
                s,
                actor=actor.name,
                action="promotion.create",
                subject=promotion.id,
                environment=environment,
                app=promotion.apps[0] if len(promotion.apps) == 1 else None,
                details={
                    "release": release.id,
                    "apps": list(promotion.apps),
                    "kind": kind,
                    "trigger": trigger,
                    "reason": reason,
                    "rollback_of": rollback_of,
                },
            )
        if kind == "normal" and trigger == "manual":
            self._hold_if_older(s, release, environment, promotion, actor.name)
        return record

    def _ordered(self, apps: Sequence[str]) -> list[str]:
        order = self.project.app_order()
        return sorted(apps, key=lambda a: order.index(a) if a in order else len(order))

    def _check_release_fits(self, s: Session, release: ReleaseRecord, environment: str) -> None:
        unknown = [a for a in release.apps if a not in self.project.apps]
        if unknown:
            raise PromotionError(
                f"release {release.id} names apps that shiplane.yaml does not define: "
                + ", ".join(unknown)
            )
        # An app needs its dependencies: in the release, or already running there.
        deployed = set(deploys.running_in(s, environment))
        for app in release.apps:
            for dep in self.project.apps[app].depends_on:
                if dep not in release.apps and dep not in deployed:
                    raise PromotionError(
                        f"release {release.id} is missing app {dep!r}, which {app!r} depends "
                        f"on and which {environment!r} does not run yet; include {dep} in "
                        "the release or promote it first"
                    )

    def _hold_if_older(
        self, s: Session, release: ReleaseRecord, environment: str, p: Promotion, actor: str
    ) -> None:
        """A manual promotion of an older release pins the environment: auto-promotion
        must not undo it until the hold is lifted."""
        running_now = deploys.running_in(s, environment)
        for app in p.apps:
            current = running_now.get(app)
            if current is None:
                continue
            running = releases.get_release(s, current)
            if running is not None and running.created_at > release.created_at:
                store.set_hold(
                    s,
                    Hold(
                        environment,
                        app,
                        actor,
                        self.now(),
                        f"manual promotion {p.id} of an older release",
                    ),
                )

    async def approve(
        self, promotion_id: str, *, actor: Actor, decision: str, comment: str = ""
    ) -> PromotionRecord:
        def fn(s: Session) -> PromotionRecord:
            record = self._get(s, promotion_id, lock=True)
            p = record.domain()
            release = self._release_info(s, p.release_id)
            policy = self.project.environments[p.environment].approvals
            now = self.now()
            verdict: Any = "reject" if decision == "reject" else "approve"
            refusal = check_approver(
                policy=policy,
                promotion=p,
                release=release,
                user=actor.name,
                groups=actor.groups,
                approvals=store.approvals_for(s, p.release_id, p.environment),
                now=now,
                decision=verdict,
            )
            if refusal is not None:
                status = 409 if refusal.code in ("not_waiting", "already_approved") else 403
                if refusal.code == "no_approvals_needed":
                    status = 409
                raise PromotionError(refusal.message, status)
            store.record_approval(
                s,
                Approval(
                    actor.name,
                    actor.groups,
                    now,
                    verdict,
                    p.release_id,
                    p.environment,
                    p.id,
                    comment,
                ),
            )
            store.add_step(
                s,
                p.id,
                Step(verdict, now, now, "succeeded", f"{actor.name}: {comment}".rstrip(": ")),
            )
            audit.append_event(
                s,
                actor=actor.name,
                action=f"promotion.{verdict}",
                subject=p.id,
                environment=p.environment,
                details={"release": p.release_id, "comment": comment},
            )
            return _postpone(s, p.id, None)

        record = await self._write(fn)
        self.wake()
        return record

    async def abort(self, promotion_id: str, *, actor: Actor, reason: str) -> PromotionRecord:
        def fn(s: Session) -> PromotionRecord:
            p = self._get(s, promotion_id, lock=True).domain()
            if p.state not in (S.PENDING, S.WAITING, S.DEPLOYING, S.VERIFYING):
                raise PromotionError(
                    f"promotion {p.id} is {p.state.value}; only a pending, waiting, deploying "
                    "or verifying promotion can be aborted",
                    409,
                )
            record = self._transition(
                s,
                p,
                E.ABORTED,
                f"aborted by {actor.name}: {reason}",
                actor=actor.name,
                action="promotion.abort",
            )
            return record

        record = await self._write(fn)
        self.wake()
        return record

    async def retry(self, promotion_id: str, *, actor: Actor) -> PromotionRecord:
        def fn(s: Session) -> PromotionRecord:
            old = self._get(s, promotion_id)
            if old.state not in (
                S.FAILED.value,
                S.ABORTED.value,
                S.ROLLED_BACK.value,
                S.SUPERSEDED.value,
            ):
                raise PromotionError(
                    f"promotion {old.id} is {old.state}; only a failed, aborted, rolled back "
                    "or superseded promotion can be retried",
                    409,
                )
            return self.create_in(
                s,
                old.release_id,
                old.environment,
                actor=actor,
                reason=f"retry of {old.id}",
                kind="rollback" if old.kind == "rollback" else "normal",
            )

        record = await self._write(fn)
        self.wake()
        return record

    async def rollback(
        self,
        environment: str,
        app: str,
        *,
        actor: Actor,
        to: str | None = None,
        reason: str = "",
    ) -> PromotionRecord:
        def fn(s: Session) -> PromotionRecord:
            if environment not in self.project.environments:
                raise PromotionError(f"environment {environment!r} is not defined", 404)
            if app not in self.project.apps:
                raise PromotionError(f"app {app!r} is not defined", 404)
            target = to
            if target is None:
                current = deploys.running_in(s, environment).get(app)
                target = store.last_verified_release(s, environment, app, exclude=current)
                if target is None:
                    raise PromotionError(
                        f"no earlier release was verified in {environment} for {app}; "
                        "name one with --to RELEASE",
                        409,
                    )
            record = self.create_in(
                s,
                target,
                environment,
                actor=actor,
                kind="rollback",
                reason=reason or f"rollback of {app} requested",
            )
            store.set_hold(
                s, Hold(environment, app, actor.name, self.now(), f"rollback {record.id}")
            )
            return record

        record = await self._write(fn)
        self.wake()
        return record

    async def resolve_check(
        self, promotion_id: str, check: str, *, passed: bool, actor: Actor, comment: str = ""
    ) -> PromotionRecord:
        def fn(s: Session) -> PromotionRecord:
            record = self._get(s, promotion_id, lock=True)
            verify = dict(record.data.get("verify") or {})
            states = dict(verify.get("checks") or {})
            if record.state != S.VERIFYING.value or check not in states:
                raise PromotionError(
                    f"promotion {promotion_id} has no check {check!r} waiting for a person", 409
                )
            try:
                states[check] = resolve_inconclusive(
                    states[check], passed, actor.name, comment=comment, at=self.now()
                )
            except checks_base.CheckStateError as exc:
                raise PromotionError(str(exc), 409) from None
            verify["checks"] = states
            data = {**record.data, "verify": verify}
            audit.append_event(
                s,
                actor=actor.name,
                action="promotion.resolve_check",
                subject=promotion_id,
                environment=record.environment,
                details={"check": check, "passed": passed, "comment": comment},
            )
            return store.save_promotion(s, record.domain(), data=data, next_check_at=None)

        record = await self._write(fn)
        self.wake()
        return record

    async def set_hold(
        self, environment: str, app: str, *, actor: Actor, on: bool, reason: str = ""
    ) -> bool:
        def fn(s: Session) -> bool:
            self._known(environment, app)
            changed = (
                store.set_hold(s, Hold(environment, app, actor.name, self.now(), reason))
                if on
                else store.remove_hold(s, environment, app)
            )
            audit.append_event(
                s,
                actor=actor.name,
                action="hold.set" if on else "hold.lift",
                subject=f"{environment}/{app}",
                environment=environment,
                app=app,
                details={"reason": reason, "changed": changed},
            )
            return changed

        changed = await self._write(fn)
        self.wake()
        return changed

    async def set_freeze(
        self, environment: str | None, *, actor: Actor, on: bool, reason: str = ""
    ) -> bool:
        def fn(s: Session) -> bool:
            if environment is not None:
                self._known(environment, None)
            if on:
                scope: Any = "environment" if environment else "project"
                changed = store.set_freeze(
                    s, Freeze(scope, environment, reason, actor.name, self.now())
                )
            else:
                changed = store.remove_freeze(s, environment)
            audit.append_event(
                s,
                actor=actor.name,
                action="freeze.set" if on else "freeze.lift",
                subject=environment or "project",
                environment=environment,
                details={"reason": reason, "changed": changed},
            )
            return changed

        changed = await self._write(fn)
        self.wake()
        return changed

    def _known(self, environment: str, app: str | None) -> None:
        if environment not in self.project.environments:
            known = ", ".join(self.project.environment_order())
            raise PromotionError(
                f"environment {environment!r} is not defined (known: {known})", 404
            )
        if app is not None and app not in self.project.apps:
            raise PromotionError(f"app {app!r} is not defined", 404)

    async def explain(self, promotion_id: str) -> str:
        def fn(s: Session) -> str:
            record = self._get(s, promotion_id)
            results = [GateResult.from_record(r) for r in record.data.get("gates") or []]
            steps = [st.domain() for st in store.list_steps(s, promotion_id)]
            text = explain(record.domain(), results, steps)
            verify = record.data.get("verify_reason")
            if record.state == S.VERIFYING.value and verify:
                text += f"\nverification: {verify}"
            return text

        return await self._read(fn)

    def _get(self, s: Session, promotion_id: str, *, lock: bool = False) -> PromotionRecord:
        record = store.get_promotion(s, promotion_id, lock=lock)
        if record is None:
            raise PromotionError(f"no promotion {promotion_id!r}", 404)
        return record

    # --- transitions ----------------------------------------------------------------------

    def _transition(
        self,
        s: Session,
        p: Promotion,
        event: PromotionEvent,
        reason: str,
        *,
        actor: str = "shiplane",
        action: str | None = None,
        next_check_at: datetime | None = None,
        data: dict[str, Any] | None = None,
        git_commit: str | None = None,
    ) -> PromotionRecord:
        now = self.now()
        moved = p.apply(event, at=now, reason=reason)
        kwargs: dict[str, Any] = {"next_check_at": next_check_at}
        if data is not None:
            kwargs["data"] = data
        if git_commit is not None:
            kwargs["git_commit"] = git_commit
        record = store.save_promotion(s, moved, expect_state=p.state, **kwargs)
        store.add_step(s, p.id, Step(f"-> {moved.state.value}", now, now, "succeeded", reason))
        audit.append_event(
            s,
            actor=actor,
            action=action or f"promotion.{moved.state.value.lower()}",
            subject=p.id,
            environment=p.environment,
            app=p.apps[0] if len(p.apps) == 1 else None,
            details={
                "release": p.release_id,
                "from": p.state.value,
                "to": moved.state.value,
                "reason": reason,
            },
        )
        self._emit(s, moved, record)
        return record

    def _emit(self, s: Session, moved: Promotion, record: PromotionRecord) -> None:
        if self.notify is None:
            return
        event = {
            S.SUCCEEDED: "promotion.succeeded",
            S.FAILED: "promotion.failed",
            S.ROLLED_BACK: "promotion.rolled_back",
        }.get(moved.state)
        if event is not None:
            self.notify(s, event, record)

    # --- reconcile ------------------------------------------------------------------------

    async def reconcile(self, promotion_id: str, fence: Fence | None = None) -> None:
        record = await self._read(lambda s: store.get_promotion(s, promotion_id))
        if record is None:
            return
        state = S(record.state)
        if state is S.PENDING:
            started = await self._fenced(fence, lambda s: self._try_start(s, promotion_id))
            if started is None:
                return
            record = started
            state = S(record.state)
            if state is S.WAITING:
                fault_point("promotion.started")
        if state is S.WAITING:
            record = await self._fenced(fence, lambda s: self._evaluate_gates(s, promotion_id))
            state = S(record.state)
            if state is S.DEPLOYING:
                fault_point("promotion.gates_passed")
        if state is S.DEPLOYING:
            record = await self._deploy(record, fence)
            state = S(record.state)
            if state is S.VERIFYING:
                fault_point("promotion.deployed")
            elif state is S.ROLLING_BACK:
                fault_point("rollback.started")
        if state is S.VERIFYING:
            state = await self._verify(record, fence)
            if state is S.SUCCEEDED:
                fault_point("promotion.verified")
            elif state is S.ROLLING_BACK:
                fault_point("rollback.started")
            elif state is S.VERIFYING:
                fault_point("verify.during")
        elif state is S.ROLLING_BACK:
            await self._fenced(fence, lambda s: self._follow_rollback(s, promotion_id))

    def _try_start(self, s: Session, promotion_id: str) -> PromotionRecord | None:
        record = self._get(s, promotion_id)
        if record.state != S.PENDING.value:
            return record
        store.lock_queue(s, record.environment)
        queue = [r.domain() for r in store.open_promotions(s, environment=record.environment)]
        # A failed promotion that is RollingBack holds its slot against everything but
        # its own rollback, which must run in that slot.
        queue = [q for q in queue if not (q.state is S.ROLLING_BACK and q.id == record.rollback_of)]
        holds = store.list_holds(s, record.environment)
        startable = {p.id for p in next_to_start(queue, holds)}
        if promotion_id not in startable:
            p = record.domain()
            if p.trigger == "auto" and not may_auto_promote(p.environment, p.apps, holds):
                held = ", ".join(h.app for h in holds if h.app in p.apps)
                return self._transition(
                    s,
                    p,
                    E.ABORTED,
                    f"held: auto-promotion of {held} into {p.environment} is on hold",
                )
            ahead = [q.id for q in queue if q.is_active and set(q.apps) & set(p.apps)]
            reason = f"queued behind {', '.join(ahead)}" if ahead else "queued"
            if reason != record.reason:
                return store.save_promotion(
                    s, _with_reason(p, reason, self.now()), next_check_at=self.now() + IDLE_RECHECK
                )
            return _postpone(s, promotion_id, self.now() + IDLE_RECHECK)
        data = {**record.data, "waiting_since": self.now().isoformat()}
        return self._transition(s, record.domain(), E.STARTED, "evaluating gates", data=data)

    def _gate_context(self, s: Session, p: Promotion) -> GateContext:
        env = self.project.environments[p.environment]
        upstream = list(env.after.environments)
        verified = store.verified_apps(s, p.release_id, upstream)
        upstream_verified: dict[str, dict[str, datetime | None]] = {
            e: {app: verified[e].get(app) for app in p.apps} for e in upstream
        }
        return GateContext(
            promotion=p,
            release=self._release_info(s, p.release_id),
            environment=TargetEnvironment(p.environment, env),
            clock=self.clock,
            upstream_verified=upstream_verified,
            approvals=store.approvals_for(s, p.release_id, p.environment),
            freezes=store.list_freezes(s),
            holds=store.list_holds(s, p.environment),
        )

    def _release_info(self, s: Session, release_id: str) -> ReleaseInfo:
        release = releases.get_release(s, release_id)
        if release is None:
            raise PromotionError(f"release {release_id} disappeared", 409)
        return ReleaseInfo(
            id=release.id,
            artifacts={a.app: a.ref for a in release.artifacts},
            creator=release.creator,
            labels=release.labels,
            alias=release.alias,
        )

    def _evaluate_gates(self, s: Session, promotion_id: str) -> PromotionRecord:
        record = self._get(s, promotion_id)
        if record.state != S.WAITING.value:
            return record
        p = record.domain()
        ctx = self._gate_context(s, p)
        results = evaluate_all(ctx, gates_for(self.project, p.environment))
        decision = overall(results)
        records = [r.to_record() for r in results]
        data = {**record.data, "gates": records}
        summary = "; ".join(f"{r.gate}: {r.reason}" for r in results if r.outcome != "pass")
        if decision == "pass":
            self._observe_since(record.data.get("waiting_since"), self._gate_wait(p.environment))
            return self._transition(s, p, E.GATES_PASSED, "gates passed; deploying", data=data)
        if decision == "reject":
            return self._transition(
                s, p, E.GATE_REJECTED, summary or "rejected by a gate", data=data
            )
        wake_at = next_check(results) or self.now() + IDLE_RECHECK
        if summary != record.reason:
            # Record a step only when what it waits for changes, not on every re-check.
            now = self.now()
            store.add_step(
                s, p.id, Step("gates", now, now, "succeeded", summary, {"results": records})
            )
            if self.notify is not None:
                waiting_on = {r.gate for r in results if r.outcome == "wait"}
                event = (
                    "promotion.waiting_for_approval"
                    if "approval" in waiting_on
                    else "promotion.frozen"
                    if "freeze" in waiting_on
                    else None
                )
                if event is not None:
                    self.notify(s, event, record)
        return store.save_promotion(
            s, _with_reason(p, summary, self.now()), data=data, next_check_at=wake_at
        )

    async def _deploy(self, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
        release = await self._read(lambda s: releases.get_release(s, record.release_id))
        assert release is not None
        p = record.domain()
        try:
            outcome = await self.deployer.deploy(
                release,
                p.environment,
                actor=p.requested_by,
                apps=list(p.apps),
                promotion_id=p.id,
                kind="rollback" if p.kind == "rollback" else "deploy",
                wait=False,
                fence=fence,
            )
        except DeployError as exc:
            commit = exc.outcome.git_commit if exc.outcome is not None else None
            why = f"deploy failed at {exc.step}: {exc.message}"
            return await self._fenced(
                fence,
                lambda s: self._fail(
                    s,
                    p.id,
                    E.DEPLOY_FAILED,
                    why,
                    git_commit=commit,
                    deployed=commit is not None,
                ),
                queues=[p.environment],
            )
        return await self._fenced(
            fence,
            lambda s: self._transition(
                s,
                self._get(s, p.id).domain(),
                E.DEPLOYED,
                f"deployed {outcome.git_commit[:12] if outcome.git_commit else ''}; verifying",
                git_commit=outcome.git_commit,
                data={**self._get(s, p.id).data, "verify": {}},
            ),
        )

    async def _verify(self, record: PromotionRecord, fence: Fence | None) -> PromotionState:
        p = record.domain()
        handle = self.clusters.for_environment(p.environment)

        def gather(s: Session) -> tuple[list[ObjRef], ReleaseRecord | None]:
            refs: list[ObjRef] = []
            for app in p.apps:
                refs += [
                    ObjRef.from_json(o) for o in deploys.get_inventory(s, p.environment, app) or []
                ]
            return refs, releases.get_release(s, p.release_id)

        refs, release = await self._read(gather)
        assert release is not None
        verify_state = dict(record.data.get("verify") or {})
        round_ = await verify_round(
            project=self.project,
            environment=p.environment,
            handle=handle,
            refs=refs,
            release=checks_base.ReleaseInfo(
                id=release.id,
                alias=release.alias,
                labels=release.labels,
                artifacts={a.app: a.ref for a in release.artifacts},
            ),
            apps=p.apps,
            run_id=p.id,
            state=verify_state,
            now=self.now,
            health_timeout=self.health_timeout,
            run_checks=p.kind != "rollback",
        )

        def save(s: Session) -> PromotionState:
            current = self._get(s, p.id)
            if current.state != S.VERIFYING.value:
                return S(current.state)  # aborted meanwhile
            data = {**current.data, "verify": round_.state, "verify_reason": round_.reason}
            now = self.now()
            health = _health_of(round_, verify_state)
            if health is not None:  # the matrix shows what verification found
                for app in p.apps:
                    deploys.update_deployment(
                        s,
                        environment=p.environment,
                        app=app,
                        health=health[0],
                        health_reason=health[1],
                        now=self.now,
                    )
            for name, result in round_.finished_checks:
                store.add_step(
                    s,
                    p.id,
                    Step(
                        f"check {name}",
                        now,
                        now,
                        "succeeded" if result["outcome"] == "passed" else "failed",
                        result.get("reason", ""),
                        {"result": result},
                    ),
                )
            if round_.outcome == "passed":
                self._succeed(s, current, data)
                return S.SUCCEEDED
            if round_.outcome == "failed":
                store.save_promotion(s, current.domain(), data=data)
                self._observe_since(round_.state.get("started_at"), self._verify_hist("failed"))
                failed = self._fail(s, p.id, E.VERIFICATION_FAILED, round_.reason, deployed=True)
                return S(failed.state)
            wake = round_.next_check_at if round_.outcome == "running" else None
            store.save_promotion(
                s, current.domain(), data=data, next_check_at=wake or now + IDLE_RECHECK
            )
            return S.VERIFYING

        if fence is not None:
            fence.assert_held()  # a paused replica must not record a stale round
        return await self._fenced(fence, save, queues=self._queues_touched(p.environment))

    def _gate_wait(self, environment: str) -> Any:
        return None if self.metrics is None else self.metrics.gate_wait_seconds.labels(environment)

    def _verify_hist(self, outcome: str) -> Any:
        return None if self.metrics is None else self.metrics.verify_seconds.labels(outcome)

    def _observe_since(self, since: str | None, histogram: Any) -> None:
        if histogram is None or not since:
            return
        with contextlib.suppress(ValueError):
            histogram.observe((self.now() - datetime.fromisoformat(since)).total_seconds())

    def _succeed(self, s: Session, record: PromotionRecord, data: dict[str, Any]) -> None:
        p = record.domain()
        now = self.now()
        self._observe_since(
            (data.get("verify") or {}).get("started_at"), self._verify_hist("passed")
        )
        self._transition(s, p, E.VERIFIED, "verified", data=data)
        store.record_verification(
            s,
            environment=p.environment,
            apps=p.apps,
            release_id=p.release_id,
            promotion_id=p.id,
            at=now,
        )
        if p.kind == "normal" and p.trigger == "manual":
            older = any(
                h.reason.startswith(f"manual promotion {p.id}")
                for h in store.list_holds(s, p.environment)
            )
            if not older:
                for app in p.apps:  # promoting again lifts a hold
                    store.remove_hold(s, p.environment, app)
        if p.rollback_of:
            original = store.get_promotion(s, p.rollback_of)
            if original is not None and original.state == S.ROLLING_BACK.value:
                self._transition(s, original.domain(), E.ROLLED_BACK, f"rolled back by {p.id}")
        if p.kind == "normal":
            self._auto_promote(s, p)

    def _fail(
        self,
        s: Session,
        promotion_id: str,
        event: PromotionEvent,
        reason: str,
        *,
        git_commit: str | None = None,
        deployed: bool,
    ) -> PromotionRecord:
        record = self._get(s, promotion_id)
        p = record.domain()
        failed = self._transition(s, p, event, reason, git_commit=git_commit)
        env = self.project.environments[p.environment]
        if p.kind == "rollback" or not deployed or env.rollback.on_failure != "auto":
            return failed
        return self._start_rollback(s, failed.domain())

    def _start_rollback(self, s: Session, failed: Promotion) -> PromotionRecord:
        targets: dict[str, str | None] = {
            app: store.last_verified_release(s, failed.environment, app, exclude=failed.release_id)
            for app in failed.apps
        }
        target_ids = {t for t in targets.values() if t is not None}
        if len(target_ids) != 1 or None in targets.values():
            reason = (
                "no earlier verified release to roll back to"
                if not target_ids
                else "apps were verified with different releases; roll back by hand"
            )
            now = self.now()
            store.add_step(s, failed.id, Step("rollback", now, now, "skipped", reason))
            return store.get_promotion(s, failed.id) or self._get(s, failed.id)
        target = target_ids.pop()
        rollback = self.create_in(
            s,
            target,
            failed.environment,
            actor=Actor("shiplane"),
            kind="rollback",
            reason=f"automatic rollback of {failed.id}: {failed.reason}",
            rollback_of=failed.id,
        )
        for app in failed.apps:
            store.set_hold(
                s, Hold(failed.environment, app, "shiplane", self.now(), f"rollback {rollback.id}")
            )
        return self._transition(
            s, failed, E.ROLLBACK_STARTED, f"rolling back to {target} with {rollback.id}"
        )

    def _follow_rollback(self, s: Session, promotion_id: str) -> None:
        """A RollingBack promotion follows its rollback promotion (resumable)."""
        record = self._get(s, promotion_id)
        children = store.rollbacks_of(s, promotion_id)
        if not children:
            _postpone(s, promotion_id, self.now() + IDLE_RECHECK)
            return
        child = children[0]
        if child.state == S.SUCCEEDED.value:
            self._transition(s, record.domain(), E.ROLLED_BACK, f"rolled back by {child.id}")
        elif child.state in (S.FAILED.value, S.ABORTED.value, S.SUPERSEDED.value):
            self._transition(
                s,
                record.domain(),
                E.ROLLBACK_FAILED,
                f"rollback {child.id} {child.state.lower()}: {child.reason}",
            )
        else:
            _postpone(s, promotion_id, self.now() + IDLE_RECHECK)

    # --- auto-promotion -------------------------------------------------------------------

    def _auto_promote(self, s: Session, verified: Promotion) -> None:
        """After a release is verified in an environment, start it into each downstream
        environment that auto-promotes and whose upstream condition now holds."""
        for name in self.project.environment_order():
            env = self.project.environments[name]
            if not env.auto_promote or verified.environment not in env.after.environments:
                continue
            self._maybe_auto_promote(s, verified.release_id, name)

    def _maybe_auto_promote(self, s: Session, release_id: str, environment: str) -> None:
        env = self.project.environments[environment]
        release = releases.get_release(s, release_id)
        if release is None:
            return
        upstream = list(env.after.environments)
        verified = store.verified_apps(s, release_id, upstream)
        ok = [e for e in upstream if all(a in verified[e] for a in release.apps)]
        if upstream and (len(ok) == 0 or (env.after.mode == "all" and len(ok) < len(upstream))):
            return
        existing = store.list_promotions(
            s, environment=environment, release_id=release_id, limit=5
        ).items
        if any(r.state not in (S.ABORTED.value, S.SUPERSEDED.value) for r in existing):
            return  # already promoted (or tried): never twice automatically
        holds = store.list_holds(s, environment)
        if not may_auto_promote(environment, release.apps, holds):
            log.info("promotion.auto_held", environment=environment, release=release_id)
            return
        try:
            self.create_in(
                s,
                release_id,
                environment,
                actor=Actor("shiplane"),
                trigger="auto",
                reason="auto-promotion",
            )
        except PromotionError as exc:
            log.warning("promotion.auto_skipped", environment=environment, error=exc.message)

    async def on_release_created(self, release_id: str) -> None:
        """A new release enters every root environment that auto-promotes."""

        roots = [
            name
            for name in self.project.environment_order()
            if self.project.environments[name].auto_promote
            and not self.project.environments[name].after.environments
        ]

        def fn(s: Session) -> None:
            store.lock_queues(s, roots)
            for name in roots:
                self._maybe_auto_promote(s, release_id, name)

        await self._write(fn)
        self.wake()


def _canceller(task: asyncio.Task[Any]) -> Callable[[], None]:
    def cancel() -> None:
        task.cancel()

    return cancel


def _health_of(round_: Any, before: dict[str, Any]) -> tuple[str, str] | None:
    """(health, reason) to record for the apps after a verification round, if it changed."""
    if round_.state.get("healthy") and not before.get("healthy"):
        return "Healthy", "verified healthy"
    if round_.outcome == "failed" and not round_.state.get("healthy"):
        status = round_.reason.split(":", 1)[0].removeprefix("health ").strip() or "Degraded"
        return (status if status in ("Degraded", "Suspended") else "Degraded"), round_.reason
    return None


def _with_reason(p: Promotion, reason: str, at: datetime) -> Promotion:
    from dataclasses import replace

    return replace(p, reason=reason, updated_at=at)


def _postpone(s: Session, promotion_id: str, when: datetime | None) -> PromotionRecord:
    record = store.get_promotion(s, promotion_id)
    if record is None:
        raise PromotionError(f"no promotion {promotion_id!r}", 404)
    return store.save_promotion(s, record.domain(), next_check_at=when)


__all__ = ["Actor", "PromotionController", "PromotionError", "StaleStateError"]
