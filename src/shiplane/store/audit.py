"""Audit trail repository: append-only, hash-chained events (docs/store.md).

append_event runs inside the caller's session, so the event commits or rolls back
together with the change it records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from shiplane.domain.audit import (
    GENESIS_HASH,
    as_utc,
    chain_hash,
    event_fields,
    normalize_details,
)
from shiplane.store.db import AUDIT_LOCK_KEY
from shiplane.store.keyset import Keyset, keyset_page
from shiplane.store.models import AuditEvent
from shiplane.store.records import AuditRecord, ChainVerification, Page

__all__ = [
    "append_event",
    "append_event_once",
    "chain_head",
    "iter_events",
    "list_events",
    "verify_chain",
]

VERIFY_BATCH = 1000


_SelectT = TypeVar("_SelectT", bound=Select[Any])


def _now() -> datetime:
    return datetime.now(UTC)


def _to_record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        app=row.app,
        environment=row.environment,
        details=row.details,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def append_event(
    s: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    app: str | None = None,
    environment: str | None = None,
    now: Callable[[], datetime] = _now,
) -> AuditRecord:
    """Append one event to the chain in the caller's transaction (secrets masked).

    Race-freedom: the tail is read and the new row inserted in one transaction that holds
    the chain lock: on PostgreSQL a transaction-level advisory lock (released at commit
    or rollback), on SQLite the write lock that BEGIN IMMEDIATE took when the session's
    transaction began. A concurrent appender waits, then sees our row as the tail.
    """
    _lock_chain(s)
    tail = s.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (tail[0] + 1, tail[1]) if tail is not None else (1, GENESIS_HASH)
    # Microseconds are what both backends store; truncating nothing else keeps the
    # hashed time identical to the time read back.
    time = as_utc(now())
    clean = normalize_details(details)
    fields = event_fields(
        seq=seq,
        time=time,
        actor=actor,
        action=action,
        subject=subject,
        app=app,
        environment=environment,
        details=clean,
    )
    row = AuditEvent(
        seq=seq,
        time=time,
        actor=actor,
        action=action,
        subject=subject,
        app=app,
        environment=environment,
        details=clean,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, fields),
    )
    s.add(row)
    s.flush()
    return _to_record(row)


def append_event_once(
    s: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    now: Callable[[], datetime] = _now,
) -> AuditRecord | None:
    """Append an event unless one with this action and subject exists already; None
    then. For facts several replicas observe alike (a configuration version applied or
    rejected): the first one records it. The check runs under the chain lock, so two
    replicas cannot both find none and both append."""
    _lock_chain(s)
    found = s.scalar(
        select(AuditEvent.seq)
        .where(AuditEvent.action == action, AuditEvent.subject == subject)
        .limit(1)
    )
    if found is not None:
        return None
    return append_event(s, actor=actor, action=action, subject=subject, details=details, now=now)


def _lock_chain(s: Session) -> None:
    # PostgreSQL: a transaction-level advisory lock (re-entrant within the transaction);
    # SQLite: the session's BEGIN IMMEDIATE holds the write lock already.
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def list_events(
    s: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    app: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditRecord]:
    """Events newest first (by seq), keyset-paginated; `since` inclusive, `until`
    exclusive. Raises InvalidCursorError (a ValueError) for a foreign cursor."""
    query = _filtered(
        select(AuditEvent),
        actor=actor,
        action=action,
        app=app,
        environment=environment,
        since=since,
        until=until,
    )
    rows, next_cursor = keyset_page(s, query, _KEYSET, cursor=cursor, limit=limit)
    return Page[AuditRecord](items=[_to_record(r) for r in rows], next_cursor=next_cursor)


def _filtered(
    query: _SelectT,
    *,
    actor: str | None = None,
    action: str | None = None,
    app: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> _SelectT:
    """The filters of the listing and the filtered export: equal fields, `since`
    inclusive, `until` exclusive."""
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if app is not None:
        query = query.where(AuditEvent.app == app)
    if environment is not None:
        query = query.where(AuditEvent.environment == environment)
    if since is not None:
        query = query.where(AuditEvent.time >= as_utc(since))
    if until is not None:
        query = query.where(AuditEvent.time < as_utc(until))
    return query


def _batches(s: Session, batch: int, **filters: Any) -> Iterator[list[AuditEvent]]:
    last = 0
    while True:
        rows = list(
            s.scalars(
                _filtered(select(AuditEvent), **filters)
                .where(AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield rows
        last = rows[-1].seq
        s.expunge_all()  # keep memory flat over long chains


def iter_events(
    s: Session,
    *,
    batch: int = VERIFY_BATCH,
    actor: str | None = None,
    action: str | None = None,
    app: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[AuditRecord]:
    """All events oldest first (for export), or those matching the listing's filters,
    read in keyset batches by seq (memory stays flat however many there are)."""
    filters = {
        "actor": actor,
        "action": action,
        "app": app,
        "environment": environment,
        "since": since,
        "until": until,
    }
    for rows in _batches(s, batch, **filters):
        yield from (_to_record(r) for r in rows)


def verify_chain(s: Session, *, batch: int = VERIFY_BATCH) -> ChainVerification:
    """Walk the chain in seq order and report the first event that does not verify.

    Checks, per event: seq follows the previous one without a gap (the first is 1);
    prev_hash equals the previous event's stored hash (GENESIS_HASH for seq 1); the
    stored hash equals the hash recomputed from the fields. Deleting the newest events
    leaves a valid shorter chain: compare chain_head() with a copy kept elsewhere to
    detect that.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for rows in _batches(s, batch):
        for row in rows:
            checked += 1
            if row.seq != expected_seq:
                return _bad(
                    checked,
                    row.seq,
                    f"gap in seq: expected {expected_seq}, found {row.seq} "
                    f"({row.seq - expected_seq} event(s) missing)",
                )
            if row.prev_hash != prev_hash:
                return _bad(
                    checked,
                    row.seq,
                    f"broken link: prev_hash {row.prev_hash[:16]}... does not match the "
                    f"hash of event {row.seq - 1} ({prev_hash[:16]}...)",
                )
            fields = event_fields(
                seq=row.seq,
                time=row.time,
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                app=row.app,
                environment=row.environment,
                details=row.details,
            )
            computed = chain_hash(row.prev_hash, fields)
            if computed != row.hash:
                return _bad(
                    checked,
                    row.seq,
                    f"hash mismatch: stored {row.hash[:16]}..., recomputed {computed[:16]}... "
                    "(the event was modified)",
                )
            prev_hash = row.hash
            expected_seq += 1
    return ChainVerification(ok=True, checked=checked, first_bad_seq=None, reason=None)


def _bad(checked: int, seq: int, reason: str) -> ChainVerification:
    return ChainVerification(ok=False, checked=checked, first_bad_seq=seq, reason=reason)


def events_after(s: Session, seq: int, *, limit: int = 200) -> list[AuditRecord]:
    """Events with a seq above `seq`, oldest first (the event stream's next batch). Seqs
    are assigned under the chain lock, which is held until commit, so a reader never
    sees a later seq before an earlier one."""
    query = select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq).limit(limit)
    return [_to_record(r) for r in s.scalars(query)]


def chain_head(s: Session) -> AuditRecord | None:
    """The newest event (its hash anchors the whole chain)."""
    row = s.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    return None if row is None else _to_record(row)


_KEYSET = Keyset("audit", (AuditEvent.seq,), (int,))
"""Newest first; the cursor kind keeps a cursor from being replayed on another listing."""
