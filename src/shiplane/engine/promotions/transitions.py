"""The one write path of a promotion.

`transition` moves a promotion by an event of the domain state machine and writes, in
the caller's transaction, everything that goes with the move: the row (a compare-and-set
on the state it was read in), a step, the audit event, the notification, and in
pull-request mode what the forge must be told (forge_outcome.py). Nothing else
changes a promotion's state. `save` records a new reason or next-check time without a
move (a promotion that keeps waiting).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.domain.errors import NotFoundError
from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState, Step
from shiplane.engine.promotions.forge_outcome import record_forge_duties
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.store import audit
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

S = PromotionState

# Finishing states people are told about (the waits are told by the gates handler).
_NOTIFIED = {
    S.SUCCEEDED: "promotion.succeeded",
    S.FAILED: "promotion.failed",
    S.ROLLED_BACK: "promotion.rolled_back",
}

_UNSET: Any = object()


def get(s: Session, promotion_id: str, *, lock: bool = False) -> PromotionRecord:
    record = store.get_promotion(s, promotion_id, lock=lock)
    if record is None:
        raise NotFoundError(f"no promotion {promotion_id!r}")
    return record


def transition(
    rt: Runtime,
    s: Session,
    p: Promotion,
    event: PromotionEvent,
    reason: str,
    *,
    actor: str = "shiplane",
    action: str | None = None,
    next_check_at: datetime | None = None,
    data: PromotionData | None = None,
    git_commit: str | None = None,
) -> PromotionRecord:
    """Apply `event` to `p` (as read in this transaction) and record it everywhere.

    InvalidTransition when the state machine forbids it; StaleStateError when the row
    moved since `p` was read (a request racing the reconciler)."""
    now = rt.now()
    moved = p.apply(event, at=now, reason=reason)
    kwargs: dict[str, Any] = {"next_check_at": next_check_at}
    if data is not None:
        kwargs["data"] = data.to_json()
    if git_commit is not None:
        kwargs["git_commit"] = git_commit
    record = store.save_promotion(s, moved, expect_state=p.state, **kwargs)
    store.add_step(s, p.id, Step(f"-> {moved.state.value}", now, now, "succeeded", reason))
    details: dict[str, Any] = {
        "release": p.release_id,
        "from": p.state.value,
        "to": moved.state.value,
        "reason": reason,
    }
    if rt.config_commit is not None:
        details["config"] = rt.config_commit  # the shiplane.yaml this step was decided by
    audit.append_event(
        s,
        actor=actor,
        action=action or f"promotion.{moved.state.value.lower()}",
        subject=p.id,
        environment=p.environment,
        app=p.apps[0] if len(p.apps) == 1 else None,
        details=details,
    )
    notified = _NOTIFIED.get(moved.state)
    if notified is not None:
        rt.emit(s, notified, record)
    # Pull-request mode: the outcome on the merge commit, the pull request of an abort
    # closed; written with the move, done by the notification worker (forge_duties.py).
    record_forge_duties(rt, s, p.state.value, record)
    if moved.kind == "rollback" and moved.is_finished:
        _wake_the_held(s, moved)
    return record


def _wake_the_held(s: Session, rollback: Promotion) -> None:
    """A finished rollback: the promotions that let it go first are evaluated afresh now,
    against the environment as the rollback left it."""
    store.wake_promotions(
        s,
        [
            q.id
            for q in store.open_promotions(s, environment=rollback.environment)
            if q.state == S.WAITING.value and set(q.apps) & set(rollback.apps)
        ],
    )


def save(
    rt: Runtime,
    s: Session,
    p: Promotion,
    *,
    reason: str | None = None,
    next_check_at: datetime | None = _UNSET,
    data: PromotionData | None = None,
) -> PromotionRecord:
    """Record a promotion that stays in its state: a new reason, bookkeeping, or when to
    look at it again."""
    if reason is not None:
        p = replace(p, reason=reason, updated_at=rt.now())
    kwargs: dict[str, Any] = {}
    if next_check_at is not _UNSET:
        kwargs["next_check_at"] = next_check_at
    if data is not None:
        kwargs["data"] = data.to_json()
    return store.save_promotion(s, p, **kwargs)


def postpone(s: Session, promotion_id: str, when: datetime | None) -> PromotionRecord:
    """Look at the promotion again at `when` (None: as soon as possible)."""
    record = get(s, promotion_id)
    return store.save_promotion(s, record.domain(), next_check_at=when)
