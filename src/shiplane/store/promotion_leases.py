"""Promotion leases: they live on the promotion row. A replica claims due promotions with
`SELECT ... FOR UPDATE SKIP LOCKED`, so two replicas never claim the same one and
neither waits for the other; its writes check the fence (`check_promotion_fence`).
The mechanism is shared with the named leases (lease_fencing.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from shiplane.domain.promotion import FINISHED_STATES, PromotionState
from shiplane.store.lease_fencing import PROMOTIONS, check, clock, is_postgres, release, renew
from shiplane.store.models import PromotionRow

_OPEN_STATES = [s.value for s in PromotionState if s not in FINISHED_STATES]


@dataclass(frozen=True)
class PromotionClaim:
    promotion_id: str
    epoch: int
    previous_owner: str | None


def claim_due_promotions(
    s: Session,
    owner: str,
    *,
    due_at: datetime,
    ttl: float,
    exclude: Collection[str] = (),
    limit: int = 50,
) -> list[PromotionClaim]:
    """Claim open promotions that are due (next check at or before `due_at`, by the
    engine's clock) and not leased by a live replica; oldest first."""
    if limit <= 0:
        return []
    now, expires = clock(s, ttl)
    query = (
        select(PromotionRow.id, PromotionRow.lease_owner)
        .where(
            PromotionRow.state.in_(_OPEN_STATES),
            or_(PromotionRow.next_check_at.is_(None), PromotionRow.next_check_at <= due_at),
            or_(
                PromotionRow.lease_owner.is_(None),
                PromotionRow.lease_expires_at.is_(None),
                PromotionRow.lease_expires_at < now,
                # Ours but not being worked on (`exclude` lists what is): a worker that
                # ended without handing it back, e.g. its event loop was closed.
                PromotionRow.lease_owner == owner,
            ),
        )
        .order_by(PromotionRow.created_at, PromotionRow.id)
        .limit(limit + len(exclude))
    )
    if is_postgres(s):
        query = query.with_for_update(skip_locked=True)
    rows = [(pid, prev) for pid, prev in s.execute(query) if pid not in exclude][:limit]
    if not rows:
        return []
    ids = [pid for pid, _ in rows]
    s.execute(
        update(PromotionRow)
        .where(PromotionRow.id.in_(ids))
        .values(
            lease_owner=owner,
            lease_expires_at=expires,
            lease_epoch=PromotionRow.lease_epoch + 1,
        )
        .execution_options(synchronize_session=False)
    )
    epochs: dict[str, int] = {
        pid: int(epoch)
        for pid, epoch in s.execute(
            select(PromotionRow.id, PromotionRow.lease_epoch).where(PromotionRow.id.in_(ids))
        )
    }
    return [PromotionClaim(pid, int(epochs[pid]), prev) for pid, prev in rows]


def check_promotion_fence(s: Session, promotion_id: str, owner: str, epoch: int) -> None:
    """Raise LeaseLostError unless (owner, epoch) still holds the promotion's lease."""
    check(s, PROMOTIONS, promotion_id, owner, epoch, f"promotion {promotion_id}")


def renew_promotions(
    s: Session, owner: str, held: Mapping[str, int], ttl: float
) -> tuple[set[str], set[str]]:
    """(renewed, lost) of the promotion leases in `held` (id -> epoch); see lease_fencing.renew."""
    return renew(s, PROMOTIONS, owner, held, ttl)


def release_promotion(s: Session, promotion_id: str, owner: str, epoch: int) -> bool:
    return release(s, PROMOTIONS, promotion_id, owner, epoch)


def promotion_leases_by_owner(s: Session) -> dict[str, int]:
    """Live promotion leases per owning replica (for /metrics)."""
    now, _ = clock(s, 0)
    query = (
        select(PromotionRow.lease_owner, func.count())
        .where(PromotionRow.lease_owner.is_not(None), PromotionRow.lease_expires_at >= now)
        .group_by(PromotionRow.lease_owner)
    )
    return {str(owner): int(count) for owner, count in s.execute(query)}
