"""State Pending: start when the queue lets the promotion have its slots, then evaluate
its gates at once (state Waiting, `gates.py`) in the same transaction.

One active promotion per (environment, app); later ones wait their turn in creation
order (`domain.promotion_queue`). A held auto-promotion ends here instead of waiting
for a hold that may never be lifted.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionEvent, PromotionState
from shiplane.domain.promotion_queue import may_auto_promote, next_to_start
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.gates import evaluate_gates
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.timing import IDLE_RECHECK
from shiplane.engine.promotions.transitions import get, postpone, save, transition
from shiplane.store import promotion_controls
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

S = PromotionState
E = PromotionEvent


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    return await rt.fenced(fence, lambda s: start_and_evaluate(rt, s, record.id))


def start_and_evaluate(rt: Runtime, s: Session, promotion_id: str) -> PromotionRecord:
    """Start, and when that makes the promotion Waiting, evaluate its gates in the same
    transaction: a promotion whose gates pass at once goes Pending -> Deploying in one
    write (the usual case in environments without approvals or windows)."""
    record = try_start(rt, s, promotion_id)
    if record.state == S.WAITING.value:
        return evaluate_gates(rt, s, promotion_id)
    return record


def try_start(rt: Runtime, s: Session, promotion_id: str) -> PromotionRecord:
    record = get(s, promotion_id)
    if record.state != S.PENDING.value:
        return record
    store.lock_queue(s, record.environment)
    queue = [r.domain() for r in store.open_promotions(s, environment=record.environment)]
    # A failed promotion that is RollingBack holds its slot against everything but its
    # own rollback, which must run in that slot.
    queue = [q for q in queue if not (q.state is S.ROLLING_BACK and q.id == record.rollback_of)]
    holds = promotion_controls.list_holds(s, record.environment)
    p = record.domain()
    if promotion_id in {q.id for q in next_to_start(queue, holds)}:
        data = PromotionData.of(record).but(waiting_since=rt.now())
        return transition(rt, s, p, E.STARTED, "evaluating gates", data=data)
    if p.trigger == "auto" and not may_auto_promote(p.environment, p.apps, holds):
        held = ", ".join(h.app for h in holds if h.app in p.apps)
        return transition(
            rt, s, p, E.ABORTED, f"held: auto-promotion of {held} into {p.environment} is on hold"
        )
    ahead = [q.id for q in queue if q.is_active and set(q.apps) & set(p.apps)]
    reason = f"queued behind {', '.join(ahead)}" if ahead else "queued"
    if reason != record.reason:
        return save(rt, s, p, reason=reason, next_check_at=rt.now() + IDLE_RECHECK)
    return postpone(s, promotion_id, rt.now() + IDLE_RECHECK)
