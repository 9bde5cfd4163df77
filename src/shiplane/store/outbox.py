"""The notification outbox: deliveries written with the state change they report.

`enqueue` runs inside the caller's session, so a notification exists if and only if the
promotion's transition committed. Workers then `claim_due` rows (PostgreSQL: `FOR UPDATE
SKIP LOCKED`, so replicas never take the same row; SQLite: one process, the write lock
of BEGIN IMMEDIATE), deliver them outside any transaction, and record the result with
`record_success` / `record_failure`, which only the current claim may do (fencing).

A claim is a lease: claiming moves `next_attempt_at` to the end of the lease, so a worker
that dies mid-delivery simply lets the row become due again (at-least-once).

Order per promotion: a row is due only when no earlier row (lower `sequence`) of the same
promotion and channel is still pending, so event N+1 never overtakes event N, even while
N waits between retries. A row that failed for good no longer holds later ones back.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Exists, exists, func, select, text, update
from sqlalchemy.orm import Session, aliased

from shiplane.domain.audit import as_utc
from shiplane.store.keyset import Keyset, keyset_page
from shiplane.store.models import NotificationDelivery
from shiplane.store.records import Page

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "ClaimedDelivery",
    "DeliveryNotFailedError",
    "DeliveryNotFoundError",
    "DeliveryRecord",
    "claim_due",
    "enqueue",
    "get_delivery",
    "list_deliveries",
    "next_due_at",
    "record_failure",
    "record_success",
    "reset_failed",
]

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
Status = Literal["pending", "delivered", "failed"]
STATUSES: tuple[Status, ...] = ("pending", "delivered", "failed")

# Transaction-level advisory lock (with the promotion id's hash as second key) that
# serialises sequence numbering of one promotion across replicas on PostgreSQL.
OUTBOX_LOCK_KEY = 0x53484C4E  # "SHLN"


class DeliveryNotFoundError(LookupError):
    """No delivery has this id."""


class DeliveryNotFailedError(ValueError):
    """Only a failed delivery can be retried."""


class DeliveryRecord(BaseModel):
    """One delivery as the API shows it (no secrets: channels are referred to by name)."""

    model_config = ConfigDict(frozen=True)

    id: str
    channel: str
    channel_kind: str
    event: str
    promotion_id: str
    sequence: int
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class ClaimedDelivery(DeliveryRecord):
    """A delivery claimed by a worker; `claim` must be passed back to record the result."""

    claim: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


def new_delivery_id(now: datetime) -> str:
    """`dlv-` + milliseconds (12 hex digits) + randomness: unique and time-ordered."""
    return f"dlv-{int(as_utc(now).timestamp() * 1000):012x}{secrets.token_hex(8)}"


def _record(row: NotificationDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        channel=row.channel,
        channel_kind=row.channel_kind,
        event=row.event,
        promotion_id=row.promotion_id,
        sequence=row.sequence,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        payload=dict(row.payload),
    )


def _is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def enqueue(
    s: Session,
    *,
    channels: Mapping[str, str],
    event: str,
    promotion_id: str,
    payload: Mapping[str, Any],
    now: datetime | None = None,
) -> list[DeliveryRecord]:
    """Add one pending delivery per channel (`{name: kind}`) in the caller's transaction.

    Every row of this call gets the promotion's next sequence number, which is also
    written into the stored payload as `sequence`. Returns the new rows; none when
    `channels` is empty.
    """
    if not channels:
        return []
    moment = as_utc(now or _utcnow())
    if _is_postgres(s):
        s.execute(
            text("SELECT pg_advisory_xact_lock(:k, hashtext(:p))"),
            {"k": OUTBOX_LOCK_KEY, "p": promotion_id},
        )
    last = s.scalar(
        select(func.max(NotificationDelivery.sequence)).where(
            NotificationDelivery.promotion_id == promotion_id
        )
    )
    sequence = (last or 0) + 1
    body = {**payload, "sequence": sequence}
    rows = [
        NotificationDelivery(
            id=new_delivery_id(moment),
            channel=name,
            channel_kind=kind,
            event=event,
            promotion_id=promotion_id,
            sequence=sequence,
            payload=body,
            status=PENDING,
            attempts=0,
            next_attempt_at=moment,
            claim=None,
            last_error=None,
            created_at=moment,
            delivered_at=None,
        )
        for name, kind in channels.items()
    ]
    s.add_all(rows)
    s.flush()
    return [_record(r) for r in rows]


def _held_back() -> Exists:
    """An earlier delivery of the same promotion to the same channel is still pending."""
    row = NotificationDelivery
    earlier = aliased(NotificationDelivery)
    return exists().where(
        earlier.promotion_id == row.promotion_id,
        earlier.channel == row.channel,
        earlier.sequence < row.sequence,
        earlier.status == PENDING,
    )


def claim_due(
    s: Session, *, now: datetime, lease: timedelta, limit: int = 20
) -> list[ClaimedDelivery]:
    """Claim up to `limit` due deliveries for one attempt each, at most one per
    (promotion, channel): the earliest pending one, and only when it is due.

    Claiming counts the attempt and extends `next_attempt_at` by `lease`; record the
    result before the lease ends or another worker may deliver the row again.
    """
    moment = as_utc(now)
    row = NotificationDelivery
    query = (
        select(row)
        .where(row.status == PENDING, row.next_attempt_at <= moment, ~_held_back())
        .order_by(row.next_attempt_at, row.id)
        .limit(limit)
    )
    if _is_postgres(s):
        query = query.with_for_update(skip_locked=True, of=row)
    claimed: list[ClaimedDelivery] = []
    for item in s.scalars(query):
        item.claim = secrets.token_hex(16)
        item.attempts += 1
        item.next_attempt_at = moment + lease
        claimed.append(ClaimedDelivery(**_record(item).model_dump(), claim=item.claim))
    s.flush()
    return claimed


def record_success(s: Session, delivery_id: str, claim: str, *, now: datetime) -> bool:
    """Mark a claimed delivery delivered. False when the claim is no longer current
    (the lease ran out and the row was claimed again, or it was reset)."""
    result = s.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.id == delivery_id,
            NotificationDelivery.claim == claim,
            NotificationDelivery.status == PENDING,
        )
        .values(status=DELIVERED, delivered_at=as_utc(now), claim=None, last_error=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_failure(
    s: Session,
    delivery_id: str,
    claim: str,
    *,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Record a failed attempt: pending again from `retry_at`, or failed for good when
    `retry_at` is None. False when the claim is no longer current."""
    values: dict[str, Any] = {"claim": None, "last_error": error[:2000]}
    if retry_at is None:
        values["status"] = FAILED
    else:
        values["next_attempt_at"] = as_utc(retry_at)
    result = s.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.id == delivery_id,
            NotificationDelivery.claim == claim,
            NotificationDelivery.status == PENDING,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def next_due_at(s: Session) -> datetime | None:
    """When the next claimable delivery is due (for the worker's sleep): the earliest
    `next_attempt_at` of a pending delivery that no earlier one holds back."""
    return s.scalar(
        select(func.min(NotificationDelivery.next_attempt_at)).where(
            NotificationDelivery.status == PENDING, ~_held_back()
        )
    )


def get_delivery(s: Session, delivery_id: str) -> DeliveryRecord | None:
    row = s.get(NotificationDelivery, delivery_id)
    return None if row is None else _record(row)


def list_deliveries(
    s: Session,
    *,
    status: Status | None = None,
    promotion_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeliveryRecord]:
    """Deliveries newest first (ids are time-ordered), keyset-paginated."""
    query = select(NotificationDelivery)
    if status is not None:
        query = query.where(NotificationDelivery.status == status)
    if promotion_id is not None:
        query = query.where(NotificationDelivery.promotion_id == promotion_id)
    rows, next_cursor = keyset_page(s, query, _KEYSET, cursor=cursor, limit=limit)
    return Page[DeliveryRecord](items=[_record(r) for r in rows], next_cursor=next_cursor)


def reset_failed(s: Session, delivery_id: str, *, now: datetime) -> DeliveryRecord:
    """Make a failed delivery pending again with a fresh attempt budget, due at once.

    Raises DeliveryNotFoundError or DeliveryNotFailedError. Later events of the same
    promotion that were already delivered are not held back retroactively: a retried
    event may arrive after them (receivers can order by `sequence`).
    """
    query = select(NotificationDelivery).where(NotificationDelivery.id == delivery_id)
    if _is_postgres(s):
        query = query.with_for_update()
    row = s.scalars(query).first()
    if row is None:
        raise DeliveryNotFoundError(f"no notification delivery {delivery_id!r}")
    if row.status != FAILED:
        raise DeliveryNotFailedError(
            f"notification delivery {delivery_id} is {row.status}; only a failed one can be retried"
        )
    row.status = PENDING
    row.attempts = 0
    row.claim = None
    row.next_attempt_at = as_utc(now)
    s.flush()
    return _record(row)


_KEYSET = Keyset("notifications", (NotificationDelivery.id,), (str,))
"""Newest first; the cursor kind keeps a cursor from being replayed on another listing."""
