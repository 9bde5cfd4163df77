"""Leases: which replica works on what, for how long, and the fencing tokens that stop a
replica that lost its lease from writing (docs/durability.md).

This module holds the named leases, in `leases`: `replica/<id>` (liveness),
`watch/<cluster>` (the one replica watching a cluster for drift) and
`deploy/<environment>/<app>` (one deploy or sync of an app in an environment at a time,
across replicas); what every replica holds (`release_owner`, `expire_others`); and the
replicas alive. Promotion leases live on the promotion row (promotion_leases.py); the
owner/expiry/epoch mechanism both share, with `LeaseLostError`, is lease_fencing.py.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shiplane.store import lease_fencing
from shiplane.store.lease_fencing import NAMED, LeaseLostError, check, clock, is_postgres
from shiplane.store.models import DeployRun, LeaseRow

__all__ = [
    "LeaseInfo",
    "LeaseLostError",
    "acquire",
    "acquire_many",
    "check_lease",
    "expire_others",
    "interrupt_orphaned_runs",
    "list_leases",
    "live_replicas",
    "release",
    "release_owner",
    "renew",
]

REPLICA_PREFIX = "replica/"


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


def _ensure_row(s: Session, name: str) -> None:
    insert = postgresql.insert if is_postgres(s) else sqlite.insert
    s.execute(
        insert(LeaseRow)
        .values(name=name, owner=None, epoch=0, expires_at=None, acquired_at=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )


def acquire(s: Session, name: str, owner: str, ttl: float) -> int | None:
    """Take the lease `name` if it is free, expired or already ours: its epoch, or None
    when another owner holds it."""
    _ensure_row(s, name)
    now, expires = clock(s, ttl)
    query = select(
        LeaseRow.owner, LeaseRow.epoch, LeaseRow.expires_at.is_(None) | (LeaseRow.expires_at < now)
    ).where(LeaseRow.name == name)
    if is_postgres(s):
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
    now, expires = clock(s, ttl)
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
    if is_postgres(s):
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
    """(renewed, lost) of the named leases in `held` (name -> epoch); see lease_fencing.renew."""
    return lease_fencing.renew(s, NAMED, owner, held, ttl)


def check_lease(s: Session, name: str, owner: str, epoch: int) -> None:
    check(s, NAMED, name, owner, epoch, name)


def release(s: Session, name: str, owner: str, epoch: int) -> bool:
    return lease_fencing.release(s, NAMED, name, owner, epoch)


def release_owner(s: Session, owner: str) -> int:
    """Hand back everything `owner` holds (graceful shutdown); how many leases."""
    return lease_fencing.release_where(s, lambda kind: kind.owner == owner)


def expire_others(s: Session, owner: str) -> int:
    """Expire every lease not held by `owner` (SQLite: the server's file lock proves that
    no other process is alive, so whatever they held is free now)."""
    return lease_fencing.release_where(
        s, lambda kind: kind.owner.is_not(None) & (kind.owner != owner)
    )


def list_leases(s: Session) -> list[LeaseInfo]:
    query = select(LeaseRow).where(LeaseRow.owner.is_not(None)).order_by(LeaseRow.name)
    return [
        LeaseInfo(r.name, r.owner, int(r.epoch), r.expires_at, r.acquired_at)
        for r in s.scalars(query)
    ]


def live_replicas(s: Session) -> set[str]:
    """Owners of unexpired `replica/<id>` leases."""
    now, _ = clock(s, 0)
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
    if is_postgres(s):
        query = query.with_for_update(skip_locked=True)
    rows = list(s.scalars(query))
    now = datetime.now(UTC)
    for row in rows:
        row.status = "interrupted"
        row.error = reason
        row.finished_at = now
    s.flush()
    return len(rows)
