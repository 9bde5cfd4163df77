"""Rolling back a failed promotion, and state RollingBack.

A failed promotion whose environment rolls back automatically starts a rollback
promotion of the release last verified there (`domain.rollback.rollback_target`) and
becomes RollingBack; it follows that rollback until it ends (RolledBack, or Failed for a
person to act on). The rollback runs in the failed promotion's slot.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState, Step
from shiplane.domain.promotion_controls import Hold
from shiplane.domain.rollback import rollback_target
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.model import SHIPLANE
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.timing import IDLE_RECHECK
from shiplane.engine.promotions.transitions import get, postpone, transition
from shiplane.store import promotion_controls, verifications
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

S = PromotionState
E = PromotionEvent


def start_rollback(rt: Runtime, s: Session, failed: Promotion) -> PromotionRecord:
    target = rollback_target(
        {
            app: verifications.last_verified_release(
                s, failed.environment, app, exclude=failed.release_id
            )
            for app in failed.apps
        }
    )
    if target.release_id is None:
        now = rt.now()
        store.add_step(s, failed.id, Step("rollback", now, now, "skipped", target.reason))
        return get(s, failed.id)
    rollback = create_promotion(
        rt,
        s,
        target.release_id,
        failed.environment,
        actor=SHIPLANE,
        kind="rollback",
        reason=f"automatic rollback of {failed.id}: {failed.reason}",
        rollback_of=failed.id,
    )
    for app in failed.apps:
        promotion_controls.set_hold(
            s, Hold(failed.environment, app, SHIPLANE.name, rt.now(), f"rollback {rollback.id}")
        )
    return transition(
        rt,
        s,
        failed,
        E.ROLLBACK_STARTED,
        f"rolling back to {target.release_id} with {rollback.id}",
    )


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    return await rt.fenced(fence, lambda s: follow_rollback(rt, s, record.id))


def follow_rollback(rt: Runtime, s: Session, promotion_id: str) -> PromotionRecord:
    """A RollingBack promotion follows its rollback promotion (resumable)."""
    record = get(s, promotion_id)
    children = store.rollbacks_of(s, promotion_id)
    child = children[0] if children else None
    if child is not None and child.state == S.SUCCEEDED.value:
        return transition(rt, s, record.domain(), E.ROLLED_BACK, f"rolled back by {child.id}")
    if child is not None and child.state in (S.FAILED.value, S.ABORTED.value, S.SUPERSEDED.value):
        return transition(
            rt,
            s,
            record.domain(),
            E.ROLLBACK_FAILED,
            f"rollback {child.id} {child.state.lower()}: {child.reason}",
        )
    return postpone(s, promotion_id, rt.now() + IDLE_RECHECK)
