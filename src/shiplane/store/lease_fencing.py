"""The mechanism every lease shares (docs/durability.md): an owner, an expiry and an
epoch on a row, whether the row is a promotion's (`PROMOTIONS`) or a named lease's
(`NAMED`). Every claim increments the epoch; a writer holding (owner, epoch) checks it
in the same transaction as its write, with the row locked (`check`), so once another
replica has claimed, the old epoch never matches again.

Expiry is measured by the database's clock on PostgreSQL (replicas on different machines
need not agree on the time) and by the process clock on SQLite (one process).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, update
from sqlalchemy.orm import Session

from shiplane.store.models import LeaseRow, PromotionRow, UTCDateTime


class LeaseLostError(RuntimeError):
    """The caller's lease was taken over (or expired and was claimed): it must not write."""

    def __init__(self, what: str, owner: str, epoch: int, holder: str | None, now_epoch: int):
        super().__init__(
            f"lease on {what} lost: held by {holder or 'nobody'} at epoch {now_epoch}, "
            f"not by {owner} at epoch {epoch}"
        )
        self.what = what


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def clock(s: Session, ttl: float) -> tuple[Any, Any]:
    """(now, now + ttl) as SQL values: the database's clock on PostgreSQL."""
    if is_postgres(s):
        now: ColumnElement[Any] = func.now()
        return now, now + timedelta(seconds=ttl)
    py_now = datetime.now(UTC)
    return literal(py_now, UTCDateTime()), literal(py_now + timedelta(seconds=ttl), UTCDateTime())


@dataclass(frozen=True)
class LeaseKind:
    """Where one kind of lease lives: promotion rows or named-lease rows share one model."""

    table: Any
    key: Any
    owner: Any
    epoch: Any
    expires: Any

    def released(self) -> dict[str, None]:
        return {self.owner.key: None, self.expires.key: None}


PROMOTIONS = LeaseKind(
    PromotionRow,
    PromotionRow.id,
    PromotionRow.lease_owner,
    PromotionRow.lease_epoch,
    PromotionRow.lease_expires_at,
)
NAMED = LeaseKind(LeaseRow, LeaseRow.name, LeaseRow.owner, LeaseRow.epoch, LeaseRow.expires_at)


def check(s: Session, kind: LeaseKind, key: str, owner: str, epoch: int, what: str) -> None:
    """Raise LeaseLostError unless (owner, epoch) still holds the lease. The row stays
    locked until the caller's transaction ends, so no claim slips in between."""
    query = select(kind.owner, kind.epoch).where(kind.key == key)
    if is_postgres(s):
        query = query.with_for_update()
    row = s.execute(query).first()
    if row is None or row[0] != owner or int(row[1]) != epoch:
        holder, now_epoch = (None, 0) if row is None else (row[0], int(row[1]))
        raise LeaseLostError(what, owner, epoch, holder, now_epoch)


def renew(
    s: Session, kind: LeaseKind, owner: str, held: Mapping[str, int], ttl: float
) -> tuple[set[str], set[str]]:
    """Extend the leases in `held` (key -> epoch) that `owner` still holds.

    Returns (renewed, lost). A row locked by a writer right now is neither: it is
    skipped (SKIP LOCKED) and tried again next beat, so a heartbeat never waits on a
    lock and can never be part of a deadlock."""
    if not held:
        return set(), set()
    query = (
        select(kind.key, kind.owner, kind.epoch)
        .where(kind.key.in_(sorted(held)))
        .order_by(kind.key)
    )
    if is_postgres(s):
        query = query.with_for_update(skip_locked=True)
    seen = {k: (o, int(e)) for k, o, e in s.execute(query)}
    still = {k for k, (o, e) in seen.items() if o == owner and held.get(k) == e}
    if still:
        _, expires = clock(s, ttl)
        s.execute(
            update(kind.table)
            .where(kind.key.in_(sorted(still)))
            .values({kind.expires.key: expires})
            .execution_options(synchronize_session=False)
        )
    return still, set(seen) - still


def release(s: Session, kind: LeaseKind, key: str, owner: str, epoch: int) -> bool:
    """Hand the lease back (the epoch stays: it only ever grows)."""
    result = s.execute(
        update(kind.table)
        .where(kind.key == key, kind.owner == owner, kind.epoch == epoch)
        .values(kind.released())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_where(s: Session, condition: Callable[[LeaseKind], Any]) -> int:
    count = 0
    for kind in (PROMOTIONS, NAMED):
        result = s.execute(
            update(kind.table)
            .where(condition(kind))
            .values(kind.released())
            .execution_options(synchronize_session=False)
        )
        count += int(result.rowcount)  # type: ignore[attr-defined]
    return count
