"""How a promotion ends: verified (Succeeded), or Failed (and maybe rolled back).

Both run inside the transaction that records the last step, so what follows from the
end is written with it: the verification record, lifted holds, the promotion a rollback
rolled back, downstream auto-promotions, or the automatic rollback of a failure.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.promotion import PromotionEvent, PromotionState
from shiplane.engine.promotions.auto import auto_promote_downstream
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.rollback import start_rollback
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, transition
from shiplane.store import promotion_controls, verifications
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

S = PromotionState
E = PromotionEvent


def succeed(
    rt: Runtime, s: Session, record: PromotionRecord, data: PromotionData
) -> PromotionRecord:
    p = record.domain()
    rt.observe_verification("passed", (data.verify or {}).get("started_at"))
    succeeded = transition(rt, s, p, E.VERIFIED, "verified", data=data)
    verifications.record_verification(
        s,
        environment=p.environment,
        apps=p.apps,
        release_id=p.release_id,
        promotion_id=p.id,
        at=rt.now(),
    )
    if p.kind == "normal" and p.trigger == "manual":
        # Promoting again lifts a hold, unless this promotion set it (an older release).
        pinned_by_me = any(
            h.reason.startswith(f"manual promotion {p.id}")
            for h in promotion_controls.list_holds(s, p.environment)
        )
        if not pinned_by_me:
            for app in p.apps:
                promotion_controls.remove_hold(s, p.environment, app)
    if p.rollback_of:
        original = store.get_promotion(s, p.rollback_of)
        if original is not None and original.state == S.ROLLING_BACK.value:
            transition(rt, s, original.domain(), E.ROLLED_BACK, f"rolled back by {p.id}")
    if p.kind == "normal":
        auto_promote_downstream(rt, s, p)
    return succeeded


def fail(
    rt: Runtime,
    s: Session,
    promotion_id: str,
    event: PromotionEvent,
    reason: str,
    *,
    git_commit: str | None = None,
    deployed: bool,
) -> PromotionRecord:
    """Fail the promotion; roll back when something was deployed and the environment
    says `rollback.onFailure: auto` (never a rollback of a rollback)."""
    p = get(s, promotion_id).domain()
    failed = transition(rt, s, p, event, reason, git_commit=git_commit)
    policy = rt.project.environments[p.environment].rollback
    if p.kind == "rollback" or not deployed or policy.on_failure != "auto":
        return failed
    return start_rollback(rt, s, failed.domain())
