"""The reconcile loop: claim due promotions (a lease each) and take each one's next
steps through the `{state: handler}` table.

    Pending -> Waiting (queue) -> Deploying (gates passed) -> Verifying (deployed)
            -> Succeeded (verified) | Failed -> RollingBack -> RolledBack

A handler takes a promotion in its state and returns it as it left it; the loop goes on
with the next state's handler in the same pass (each state once), so a promotion whose
gates pass deploys at once. Waits are states with a next-check time, never a blocked
worker. Crash tests kill the process between steps at the fault points named in
`FAULTS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from shiplane.domain.promotion import PromotionState
from shiplane.engine.faults import fault_point
from shiplane.engine.leases import Fence, HeldLease
from shiplane.engine.promotions import deploy, gates, rollback, start, verify
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.timing import IDLE_RECHECK, TICK_SECONDS
from shiplane.engine.promotions.transitions import postpone
from shiplane.store import promotion_leases
from shiplane.store import promotions as store
from shiplane.store.lease_fencing import LeaseLostError
from shiplane.store.promotions import PromotionRecord

log = structlog.get_logger(__name__)
S = PromotionState

Handler = Callable[[Runtime, PromotionRecord, Fence | None], Awaitable[PromotionRecord]]

HANDLERS: Mapping[PromotionState, Handler] = {
    S.PENDING: start.handle,
    S.WAITING: gates.handle,
    S.DEPLOYING: deploy.handle,
    S.VERIFYING: verify.handle,
    S.ROLLING_BACK: rollback.handle,
}
"""What to do with a promotion in each state; finished states have no handler."""

FAULTS: Mapping[tuple[PromotionState, PromotionState], str | tuple[str, ...]] = {
    (S.PENDING, S.WAITING): "promotion.started",
    # Started and through its gates in one transaction (start.start_and_evaluate).
    (S.PENDING, S.DEPLOYING): ("promotion.started", "promotion.gates_passed"),
    (S.WAITING, S.DEPLOYING): "promotion.gates_passed",
    (S.DEPLOYING, S.VERIFYING): "promotion.deployed",
    (S.DEPLOYING, S.ROLLING_BACK): "rollback.started",
    (S.VERIFYING, S.SUCCEEDED): "promotion.verified",
    (S.VERIFYING, S.ROLLING_BACK): "rollback.started",
    (S.VERIFYING, S.VERIFYING): "verify.during",
    # A progressive strategy took a round of steps and waits (engine/promotions/strategy.py).
    (S.DEPLOYING, S.DEPLOYING): "strategy.during",
}
"""(state before, state after) a handler -> the fault point reached there (docs/durability.md)."""


async def reconcile(rt: Runtime, promotion_id: str, fence: Fence | None = None) -> None:
    """Take the promotion's next steps until it waits, ends, or was handled in a state."""
    record = await rt.read(lambda s: store.get_promotion(s, promotion_id))
    done: set[PromotionState] = set()
    while record is not None:
        state = S(record.state)
        handler = HANDLERS.get(state)
        if handler is None or state in done:
            return
        done.add(state)
        # Each step reads the project in force at its start, and only that version
        # (docs/configuration.md, "Which version a promotion uses").
        record = await handler(rt.pinned(), record, fence)
        points = FAULTS.get((state, S(record.state)), ())
        for point in (points,) if isinstance(points, str) else points:
            fault_point(point)


class PromotionLoop:
    """Runs `reconcile` for due promotions: a worker per promotion, in parallel across
    (environment, app) slots, on this replica and across replicas (leases)."""

    def __init__(self, rt: Runtime, *, own_leases: bool, max_parallel: int) -> None:
        self.rt = rt
        self.max_parallel = max_parallel
        self._own_leases = own_leases  # no keeper from `serve` (tests): the loop is alone
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[str] = set()
        self._workers: set[asyncio.Task[None]] = set()
        self.sweep: Callable[[], Awaitable[Any]] | None = None
        """Level-triggered work to redo at most once per tick (the auto-promotion
        sweep): a wake (a request, a finished step) reconciles at once without it."""
        self._swept_at = float("-inf")

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
            await self.rt.leases.stop()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            # Cleared before the pass, not after: a wake that arrives during the pass (a
            # request) makes the next pass start at once instead of a tick later.
            self._wake.clear()
            try:
                await self.reconcile_due()
                if self.sweep is not None and time.monotonic() - self._swept_at >= TICK_SECONDS:
                    self._swept_at = time.monotonic()
                    await self.sweep()
            except Exception:
                log.exception("promotion.reconcile_loop_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=TICK_SECONDS)

    async def reconcile_due(self) -> None:
        """Claim due promotions that no live replica works on (a lease each) and start a
        worker for each."""
        rt = self.rt
        if self._own_leases:
            await rt.leases.ensure_started()
        room = self.max_parallel - len(self._inflight)
        if room <= 0:
            return
        busy = set(self._inflight)
        claimed_at = time.monotonic()
        claims = await rt.write(
            lambda s: promotion_leases.claim_due_promotions(
                s,
                rt.leases.replica_id,
                due_at=rt.now(),
                ttl=rt.leases.ttl,
                exclude=busy,
                limit=room,
            )
        )
        for lease in rt.leases.track_claims(claims, claimed_at):
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
        rt = self.rt
        fence = rt.leases.fence(lease)
        try:
            await reconcile(rt, promotion_id, fence)
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
                await rt.fenced(fence, lambda s: postpone(s, promotion_id, rt.now() + IDLE_RECHECK))
        finally:
            self._inflight.discard(promotion_id)
        with contextlib.suppress(Exception):
            await rt.leases.release_promotion(lease)

    async def settle(self, seconds: float = 60.0) -> None:
        """Reconcile until nothing is due or running (for tests and the demo)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await self.reconcile_due()
            if self._workers:
                await asyncio.gather(*list(self._workers), return_exceptions=True)
                continue
            due = await self.rt.read(lambda s: store.due_promotion_ids(s, self.rt.now()))
            if not due:
                return
        raise TimeoutError("promotions did not settle")


def _canceller(task: asyncio.Task[Any]) -> Callable[[], None]:
    def cancel() -> None:
        task.cancel()

    return cancel
