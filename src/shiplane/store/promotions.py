"""Persistence of promotions and their steps. What people do to them (approvals, holds,
freezes) is `promotion_controls.py`; which release each environment verified is
`verifications.py`.

Rows map one-to-one onto the pure domain values (shiplane.domain.promotion*), so the
engine works with domain objects and this module only loads and saves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from shiplane.domain.errors import ConflictError
from shiplane.domain.promotion import FINISHED_STATES, Promotion, PromotionState, Step
from shiplane.store.db import advisory_key
from shiplane.store.keyset import Keyset, keyset_page
from shiplane.store.models import (
    PromotionRow,
    PromotionStepRow,
)
from shiplane.store.records import Page

_OPEN_STATES = [s.value for s in PromotionState if s not in FINISHED_STATES]


class PromotionRecord(BaseModel):
    """A promotion as stored: the domain value's fields plus the engine's bookkeeping."""

    model_config = ConfigDict(frozen=True)

    id: str
    release_id: str
    environment: str
    apps: list[str]
    kind: str
    trigger: str
    state: str
    reason: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    next_check_at: datetime | None
    rollback_of: str | None
    git_commit: str | None
    data: dict[str, Any]

    def domain(self) -> Promotion:
        return Promotion(
            id=self.id,
            release_id=self.release_id,
            environment=self.environment,
            apps=tuple(self.apps),
            requested_by=self.requested_by,
            created_at=self.created_at,
            kind="rollback" if self.kind == "rollback" else "normal",
            trigger="auto" if self.trigger == "auto" else "manual",
            state=PromotionState(self.state),
            reason=self.reason,
            updated_at=self.updated_at,
            rollback_of=self.rollback_of,
        )


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    detail: str
    data: dict[str, Any]

    def domain(self) -> Step:
        outcome: Any = self.outcome
        return Step(self.name, self.started_at, self.ended_at, outcome, self.detail, self.data)


def _record(row: PromotionRow) -> PromotionRecord:
    return PromotionRecord(
        id=row.id,
        release_id=row.release_id,
        environment=row.environment,
        apps=list(row.apps),
        kind=row.kind,
        trigger=row.trigger,
        state=row.state,
        reason=row.reason,
        requested_by=row.requested_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        next_check_at=row.next_check_at,
        rollback_of=row.rollback_of,
        git_commit=row.git_commit,
        data=dict(row.data or {}),
    )


# --- promotions -----------------------------------------------------------------------------


def insert_promotion(
    s: Session, p: Promotion, *, next_check_at: datetime | None, data: dict[str, Any] | None = None
) -> PromotionRecord:
    row = PromotionRow(
        id=p.id,
        release_id=p.release_id,
        environment=p.environment,
        apps=list(p.apps),
        kind=p.kind,
        trigger=p.trigger,
        state=p.state.value,
        reason=p.reason,
        requested_by=p.requested_by,
        created_at=p.created_at,
        updated_at=p.updated_at or p.created_at,
        next_check_at=next_check_at,
        rollback_of=p.rollback_of,
        git_commit=None,
        data=data or {},
    )
    s.add(row)
    s.flush()
    return _record(row)


_UNSET: Any = object()


def save_promotion(
    s: Session,
    p: Promotion,
    *,
    next_check_at: datetime | None = _UNSET,
    git_commit: str | None = _UNSET,
    data: dict[str, Any] | None = _UNSET,
    expect_state: PromotionState | None = None,
) -> PromotionRecord:
    """Write the promotion's state and reason (and the given bookkeeping fields).

    With `expect_state`, the row must still be in that state (a compare-and-set that stops
    two writers, e.g. an abort racing the reconciler, from overwriting each other)."""
    row = s.get(PromotionRow, p.id, with_for_update=s.bind.dialect.name == "postgresql")  # type: ignore[union-attr]
    if row is None:
        raise KeyError(p.id)
    if expect_state is not None and row.state != expect_state.value:
        raise StaleStateError(p.id, expect_state.value, row.state)
    row.state = p.state.value
    row.reason = p.reason
    row.updated_at = p.updated_at or row.updated_at
    if next_check_at is not _UNSET:
        row.next_check_at = next_check_at
    if git_commit is not _UNSET:
        row.git_commit = git_commit
    if data is not _UNSET:
        row.data = dict(data or {})
    s.flush()
    return _record(row)


class StaleStateError(ConflictError, RuntimeError):
    """The promotion moved on since it was read (a request raced the reconciler)."""

    def __init__(self, promotion_id: str, expected: str, actual: str) -> None:
        super().__init__(f"promotion {promotion_id} is {actual}, not {expected}")
        self.actual = actual


def get_promotion(s: Session, promotion_id: str, *, lock: bool = False) -> PromotionRecord | None:
    """With `lock`, the row stays locked until the transaction ends (PostgreSQL): take it
    before the audit lock, the order every writer follows, so writers never deadlock."""
    postgres = s.get_bind().dialect.name == "postgresql"
    row = s.get(
        PromotionRow, promotion_id, with_for_update=lock and postgres, populate_existing=lock
    )
    return None if row is None else _record(row)


def lock_queue(s: Session, environment: str) -> None:
    """Serialise decisions about an environment's queue (which promotion starts, which is
    superseded) across replicas, until the transaction ends. SQLite has one writer."""
    lock_queues(s, [environment])


def lock_queues(s: Session, environments: Iterable[str]) -> None:
    """Several queue locks, always in name order; a transaction that may create
    promotions takes them before its first audit event (the audit lock comes last)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    for environment in sorted(set(environments)):
        s.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(f"queue/{environment}")}
        )


def open_promotions(s: Session, *, environment: str | None = None) -> list[PromotionRecord]:
    """Every promotion that is not finished (queued or active), oldest first."""
    query = select(PromotionRow).where(PromotionRow.state.in_(_OPEN_STATES))
    if environment is not None:
        query = query.where(PromotionRow.environment == environment)
    query = query.order_by(PromotionRow.created_at, PromotionRow.id)
    return [_record(r) for r in s.scalars(query)]


def due_promotion_ids(s: Session, now: datetime) -> list[str]:
    """Open promotions whose next check is due (or unset), oldest first."""
    query = (
        select(PromotionRow.id)
        .where(
            PromotionRow.state.in_(_OPEN_STATES),
            or_(PromotionRow.next_check_at.is_(None), PromotionRow.next_check_at <= now),
        )
        .order_by(PromotionRow.created_at, PromotionRow.id)
    )
    return list(s.scalars(query))


def wake_promotions(s: Session, promotion_ids: Iterable[str]) -> None:
    """Make open promotions due now (something they wait for has ended); only the
    next-check time is written, so a reconciler working on one loses nothing."""
    ids = list(promotion_ids)
    if ids:
        s.execute(
            update(PromotionRow)
            .where(PromotionRow.id.in_(ids), PromotionRow.state.in_(_OPEN_STATES))
            .values(next_check_at=None)
        )


def rollbacks_of(s: Session, promotion_id: str) -> list[PromotionRecord]:
    """The rollback promotions created for a failed promotion, newest first."""
    query = (
        select(PromotionRow)
        .where(PromotionRow.rollback_of == promotion_id)
        .order_by(PromotionRow.created_at.desc(), PromotionRow.id.desc())
    )
    return [_record(r) for r in s.scalars(query)]


def list_promotions(
    s: Session,
    *,
    environment: str | None = None,
    app: str | None = None,
    state: str | None = None,
    release_id: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[PromotionRecord]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(PromotionRow)
    if environment is not None:
        query = query.where(PromotionRow.environment == environment)
    if state is not None:
        query = query.where(PromotionRow.state == state)
    if open_only:
        query = query.where(PromotionRow.state.in_(_OPEN_STATES))
    if release_id is not None:
        query = query.where(PromotionRow.release_id == release_id)
    # JSON arrays cannot be filtered portably in SQL; filter by app in Python over a
    # bounded over-fetch (promotions per page are few and apps per promotion fewer).
    rows, next_cursor = keyset_page(
        s,
        query,
        _KEYSET,
        cursor=cursor,
        limit=limit,
        keep=None if app is None else (lambda r: app in r.apps),
        overfetch=1 if app is None else 20,
    )
    return Page[PromotionRecord](items=[_record(r) for r in rows], next_cursor=next_cursor)


def promotions_of_release(
    s: Session, release_id: str, *, limit: int = 1000
) -> list[PromotionRecord]:
    """The promotions of one release, oldest first (a release's timeline)."""
    query = (
        select(PromotionRow)
        .where(PromotionRow.release_id == release_id)
        .order_by(PromotionRow.created_at, PromotionRow.id)
        .limit(limit)
    )
    return [_record(r) for r in s.scalars(query)]


def steps_of(s: Session, promotion_ids: Iterable[str]) -> dict[str, list[StepRecord]]:
    """The steps of several promotions in one query: id -> steps in order."""
    ids = list(promotion_ids)
    result: dict[str, list[StepRecord]] = {i: [] for i in ids}
    if not ids:
        return result
    query = (
        select(PromotionStepRow)
        .where(PromotionStepRow.promotion_id.in_(ids))
        .order_by(PromotionStepRow.promotion_id, PromotionStepRow.id)
    )
    for row in s.scalars(query):
        result[row.promotion_id].append(_step(row))
    return result


# --- steps ----------------------------------------------------------------------------------


def add_step(s: Session, promotion_id: str, step: Step) -> int:
    row = PromotionStepRow(
        promotion_id=promotion_id,
        name=step.name,
        started_at=step.started,
        ended_at=step.ended,
        outcome=step.outcome,
        detail=step.detail,
        data=dict(step.data),
    )
    s.add(row)
    s.flush()
    return int(row.id)


def finish_step(
    s: Session,
    step_id: int,
    *,
    outcome: str,
    at: datetime,
    detail: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    row = s.get(PromotionStepRow, step_id)
    if row is None:
        raise KeyError(step_id)
    row.outcome = outcome
    row.ended_at = at
    if detail:
        row.detail = detail
    if data is not None:
        row.data = data
    s.flush()


def list_steps(s: Session, promotion_id: str) -> list[StepRecord]:
    query = (
        select(PromotionStepRow)
        .where(PromotionStepRow.promotion_id == promotion_id)
        .order_by(PromotionStepRow.id)
    )
    return [_step(r) for r in s.scalars(query)]


def _step(r: PromotionStepRow) -> StepRecord:
    return StepRecord(
        id=int(r.id),
        name=r.name,
        started_at=r.started_at,
        ended_at=r.ended_at,
        outcome=r.outcome,
        detail=r.detail,
        data=dict(r.data or {}),
    )


_KEYSET = Keyset("promotions", (PromotionRow.created_at, PromotionRow.id), (datetime, str))
"""Newest first; the cursor kind keeps a cursor from being replayed on another listing."""
