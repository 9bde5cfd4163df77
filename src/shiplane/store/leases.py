"""Leases: which replica works on what, for how long, and the fencing tokens that stop a
replica that lost its lease from writing (docs/durability.md).

Two kinds share one model (owner, expiry, epoch):

- promotion leases live on the promotion row: a replica claims due promotions with
  `SELECT ... FOR UPDATE SKIP LOCKED`, so two replicas never claim the same one and
  neither waits for the other;
- named leases live in `leases`: `replica/<id>` (liveness), `watch/<cluster>` (the one
  replica watching a cluster for drift) and `deploy/<environment>/<app>` (one deploy or
  sync of an app in an environment at a time, across replicas).

Every claim increments the epoch. A writer holding (owner, epoch) checks it in the same
transaction as its write, with the row locked (`check_promotion_fence`, `check_lease`):
once another replica has claimed, the old epoch never matches again.

Expiry is measured by the database's clock on PostgreSQL (replicas on different machines
need not agree on the time) and by the process clock on SQLite (one process).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shiplane.domain.promotion import FINISHED_STATES, PromotionState
from shiplane.store.models import DeployRun, LeaseRow, PromotionRow, UTCDateTime

__all__ = [
    "LeaseInfo",
    "LeaseLostError",
    "PromotionClaim",
    "acquire",
    "check_lease",
    "check_promotion_fence",
    "claim_due_promotions",
    "expire_others",
    "interrupt_orphaned_runs",
    "list_leases",
    "live_replicas",
    "release",
    "release_owner",
    "release_promotion",
    "renew",
    "renew_promotions",
]

REPLICA_PREFIX = "replica/"
_OPEN_STATES = [s.value for s in PromotionState if s not in FINISHED_STATES]


class LeaseLostError(RuntimeError):
    """The caller's lease was taken over (or expired and was claimed): it must not write."""

    def __init__(self, what: str, owner: str, epoch: int, holder: str | None, now_epoch: int):
        super().__init__(
            f"lease on {what} lost: held by {holder or 'nobody'} at epoch {now_epoch}, "
            f"not by {owner} at epoch {epoch}"
        )
        self.what = what


@dataclass(frozen=True)
class PromotionClaim:
    promotion_id: str
    epoch: int
    previous_owner: str | None


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    owner: str | None
    epoch: int
    expires_at: datetime | None
    acquired_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "epoch": self.epoch,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "acquired_at": None if self.acquired_at is None else self.acquired_at.isoformat(),
        }


def _postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _clock(s: Session, ttl: float) -> tuple[Any, Any]:
    """(now, now + ttl) as SQL values: the database's clock on PostgreSQL."""
    if _postgres(s):
        now: ColumnElement[Any] = func.now()
        return now, now + timedelta(seconds=ttl)
    py_now = datetime.now(UTC)
    return literal(py_now, UTCDateTime()), literal(py_now + timedelta(seconds=ttl), UTCDateTime())


@dataclass(frozen=True)
class _Kind:
    """Where one kind of lease lives: promotion rows or named-lease rows share one model."""

    table: Any
    key: Any
    owner: Any
    epoch: Any
    expires: Any

    def _released(self) -> dict[str, None]:
        return {self.owner.key: None, self.expires.key: None}


_PROMOTIONS = _Kind(
    PromotionRow,
    PromotionRow.id,
    PromotionRow.lease_owner,
    PromotionRow.lease_epoch,
    PromotionRow.lease_expires_at,
)
_NAMED = _Kind(LeaseRow, LeaseRow.name, LeaseRow.owner, LeaseRow.epoch, LeaseRow.expires_at)


def _check(s: Session, kind: _Kind, key: str, owner: str, epoch: int, what: str) -> None:
    """Raise LeaseLostError unless (owner, epoch) still holds the lease. The row stays
    locked until the caller's transaction ends, so no claim slips in between."""
    query = select(kind.owner, kind.epoch).where(kind.key == key)
    if _postgres(s):
        query = query.with_for_update()
    row = s.execute(query).first()
    if row is None or row[0] != owner or int(row[1]) != epoch:
        holder, now_epoch = (None, 0) if row is None else (row[0], int(row[1]))
        raise LeaseLostError(what, owner, epoch, holder, now_epoch)


def _renew(
    s: Session, kind: _Kind, owner: str, held: Mapping[str, int], ttl: float
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
    if _postgres(s):
        query = query.with_for_update(skip_locked=True)
    seen = {k: (o, int(e)) for k, o, e in s.execute(query)}
    still = {k for k, (o, e) in seen.items() if o == owner and held.get(k) == e}
    if still:
        _, expires = _clock(s, ttl)
        s.execute(
            update(kind.table)
            .where(kind.key.in_(sorted(still)))
            .values({kind.expires.key: expires})
            .execution_options(synchronize_session=False)
        )
    return still, set(seen) - still


def _release(s: Session, kind: _Kind, key: str, owner: str, epoch: int) -> bool:
    """Hand the lease back (the epoch stays: it only ever grows)."""
    result = s.execute(
        update(kind.table)
        .where(kind.key == key, kind.owner == owner, kind.epoch == epoch)
        .values(kind._released())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _release_where(s: Session, condition: Callable[[_Kind], Any]) -> int:
    count = 0
    for kind in (_PROMOTIONS, _NAMED):
        result = s.execute(
            update(kind.table)
            .where(condition(kind))
            .values(kind._released())
            .execution_options(synchronize_session=False)
        )
        count += int(result.rowcount)  # type: ignore[attr-defined]
    return count


# --- promotion leases -----------------------------------------------------------------------


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
    now, expires = _clock(s, ttl)
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
    if _postgres(s):
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
    _check(s, _PROMOTIONS, promotion_id, owner, epoch, f"promotion {promotion_id}")


def renew_promotions(
    s: Session, owner: str, held: Mapping[str, int], ttl: float
) -> tuple[set[str], set[str]]:
    """(renewed, lost) of the promotion leases in `held` (id -> epoch); see _renew."""
    return _renew(s, _PROMOTIONS, owner, held, ttl)


def release_promotion(s: Session, promotion_id: str, owner: str, epoch: int) -> bool:
    return _release(s, _PROMOTIONS, promotion_id, owner, epoch)


def promotion_leases_by_owner(s: Session) -> dict[str, int]:
    """Live promotion leases per owning replica (for /metrics)."""
    now, _ = _clock(s, 0)
    query = (
        select(PromotionRow.lease_owner, func.count())
        .where(PromotionRow.lease_owner.is_not(None), PromotionRow.lease_expires_at >= now)
        .group_by(PromotionRow.lease_owner)
    )
    return {str(owner): int(count) for owner, count in s.execute(query)}


# --- named leases ---------------------------------------------------------------------------


def _ensure_row(s: Session, name: str) -> None:
    insert = postgresql.insert if _postgres(s) else sqlite.insert
    s.execute(
        insert(LeaseRow)
        .values(name=name, owner=None, epoch=0, expires_at=None, acquired_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )


def acquire(s: Session, name: str, owner: str, ttl: float) -> int | None:
    """Take the lease `name` if it is free, expired or already ours: its epoch, or None
    when another owner holds it."""
    _ensure_row(s, name)
    now, expires = _clock(s, ttl)
    query = select(
        LeaseRow.owner, LeaseRow.epoch, LeaseRow.expires_at.is_(None) | (LeaseRow.expires_at < now)
    ).where(LeaseRow.name == name)
    if _postgres(s):
        query = query.with_for_update()
    row = s.execute(query).one()
    current, epoch, expired = row[0], int(row[1]), bool(row[2])
    if current == owner and not expired:
        s.execute(update(LeaseRow).where(LeaseRow.name == name).values(expires_at=expires))
        return epoch
    if current is not None and not expired:
        return None
    s.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name)
        .values(owner=owner, epoch=epoch + 1, expires_at=expires, acquired_at=now)
    )
    return epoch + 1


def acquire_many(s: Session, names: Collection[str], owner: str, ttl: float) -> dict[str, int]:
    """Take every lease in `names` or none (name -> epoch; empty when one is held by
    another owner). Rows are locked in name order, so two callers never deadlock."""
    ordered = sorted(set(names))
    if not ordered:
        return {}
    for name in ordered:
        _ensure_row(s, name)
    now, expires = _clock(s, ttl)
    query = (
        select(
            LeaseRow.name,
            LeaseRow.owner,
            LeaseRow.epoch,
            LeaseRow.expires_at.is_(None) | (LeaseRow.expires_at < now),
        )
        .where(LeaseRow.name.in_(ordered))
        .order_by(LeaseRow.name)
    )
    if _postgres(s):
        query = query.with_for_update()
    rows = list(s.execute(query))
    if any(o is not None and o != owner and not expired for _, o, _, expired in rows):
        return {}
    epochs: dict[str, int] = {}
    for name, current, epoch, expired in rows:
        ours = current == owner and not expired
        epochs[name] = int(epoch) if ours else int(epoch) + 1
        values: dict[str, Any] = {"expires_at": expires}
        if not ours:
            values.update(owner=owner, epoch=epochs[name], acquired_at=now)
        s.execute(update(LeaseRow).where(LeaseRow.name == name).values(**values))
    return epochs


def renew(s: Session, owner: str, held: Mapping[str, int], ttl: float) -> tuple[set[str], set[str]]:
    """(renewed, lost) of the named leases in `held` (name -> epoch); see _renew."""
    return _renew(s, _NAMED, owner, held, ttl)


def check_lease(s: Session, name: str, owner: str, epoch: int) -> None:
    _check(s, _NAMED, name, owner, epoch, name)


def release(s: Session, name: str, owner: str, epoch: int) -> bool:
    return _release(s, _NAMED, name, owner, epoch)


def release_owner(s: Session, owner: str) -> int:
    """Hand back everything `owner` holds (graceful shutdown); how many leases."""
    return _release_where(s, lambda kind: kind.owner == owner)


def expire_others(s: Session, owner: str) -> int:
    """Expire every lease not held by `owner` (SQLite: the server's file lock proves that
    no other process is alive, so whatever they held is free now)."""
    return _release_where(s, lambda kind: kind.owner.is_not(None) & (kind.owner != owner))


def list_leases(s: Session) -> list[LeaseInfo]:
    query = select(LeaseRow).where(LeaseRow.owner.is_not(None)).order_by(LeaseRow.name)
    return [
        LeaseInfo(r.name, r.owner, int(r.epoch), r.expires_at, r.acquired_at)
        for r in s.scalars(query)
    ]


def live_replicas(s: Session) -> set[str]:
    """Owners of unexpired `replica/<id>` leases."""
    now, _ = _clock(s, 0)
    query = select(LeaseRow.owner).where(
        LeaseRow.name.startswith(REPLICA_PREFIX),
        LeaseRow.owner.is_not(None),
        LeaseRow.expires_at >= now,
    )
    return {str(o) for o in s.scalars(query)}


def interrupt_orphaned_runs(s: Session, *, live: Collection[str], reason: str) -> int:
    """Mark `running` deploy runs of replicas that are not live as `interrupted`."""
    query = select(DeployRun).where(DeployRun.status == "running")
    if live:
        query = query.where(or_(DeployRun.replica.is_(None), DeployRun.replica.not_in(live)))
    if _postgres(s):
        query = query.with_for_update(skip_locked=True)
    rows = list(s.scalars(query))
    now = datetime.now(UTC)
    for row in rows:
        row.status = "interrupted"
        row.error = reason
        row.finished_at = now
    s.flush()
    return len(rows)
