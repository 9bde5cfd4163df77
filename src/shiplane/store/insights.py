"""The records insights are computed from, read in a few queries.

1. Promotions that matter to [since, until): created before `until`, and changed at or
   after `since` or still open (index `ix_promotions_updated_at`, and
   `ix_promotions_environment_state` for the open ones), with their release's creation.
2. Their state moves (`-> State` steps) and gate evaluations (`gates` steps), by the
   promotion index of `promotion_steps` (in chunks of ids).
3. Every verification of their releases (index `ix_verifications_release_id_environment`):
   when each release became eligible downstream, and which promotion verified it first.

The rows become `domain.insights.PromotionHistory` values (without `ready_at` and
`first_verification_of`, which need the environment graph: the engine adds them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shiplane.domain.insights import GateEvaluation, Move, PromotionHistory, Verification
from shiplane.domain.promotion import FINISHED_STATES, PromotionState
from shiplane.store.models import PromotionRow, PromotionStepRow, Release, VerificationRow

T = TypeVar("T")
CHUNK = 500
"""Ids per IN list (well below SQLite's and PostgreSQL's parameter limits)."""
MOVE_PREFIX = "-> "
GATES_STEP = "gates"
_OPEN_STATES = [s.value for s in PromotionState if s not in FINISHED_STATES]


def promotion_histories(
    s: Session,
    *,
    since: datetime,
    until: datetime,
    environments: Sequence[str] | None = None,
) -> list[PromotionHistory]:
    """Histories of the promotions that matter to [since, until) (oldest first)."""
    query = (
        select(
            PromotionRow.id,
            PromotionRow.environment,
            PromotionRow.apps,
            PromotionRow.kind,
            PromotionRow.release_id,
            PromotionRow.created_at,
            PromotionRow.rollback_of,
            PromotionRow.git_commit,
            Release.created_at,
        )
        .join(Release, Release.id == PromotionRow.release_id)
        .where(
            PromotionRow.created_at < until,
            or_(PromotionRow.updated_at >= since, PromotionRow.state.in_(_OPEN_STATES)),
        )
        .order_by(PromotionRow.created_at, PromotionRow.id)
    )
    if environments is not None:
        query = query.where(PromotionRow.environment.in_(list(environments)))
    rows = list(s.execute(query))
    moves, evaluations = _steps(s, [r[0] for r in rows])
    return [
        PromotionHistory(
            id=pid,
            environment=environment,
            apps=tuple(apps or ()),
            kind="rollback" if kind == "rollback" else "normal",
            release_id=release_id,
            release_created_at=release_created_at,
            created_at=created_at,
            moves=tuple(moves.get(pid, ())),
            gate_evaluations=tuple(evaluations.get(pid, ())),
            rollback_of=rollback_of,
            committed=git_commit is not None,
        )
        for (
            pid,
            environment,
            apps,
            kind,
            release_id,
            created_at,
            rollback_of,
            git_commit,
            release_created_at,
        ) in rows
    ]


def _steps(
    s: Session, promotion_ids: Sequence[str]
) -> tuple[dict[str, list[Move]], dict[str, list[GateEvaluation]]]:
    """State moves and gate evaluations, in the order they were recorded. Two queries per
    chunk of ids, so that only gate evaluations pay for reading their JSON."""
    moves: dict[str, list[Move]] = defaultdict(list)
    evaluations: dict[str, list[GateEvaluation]] = defaultdict(list)
    step = PromotionStepRow
    for chunk in _chunks(promotion_ids):
        moved = (
            select(step.promotion_id, step.name, step.started_at)
            .where(step.promotion_id.in_(chunk), step.name.startswith(MOVE_PREFIX, autoescape=True))
            .order_by(step.promotion_id, step.id)
        )
        for pid, name, at in s.execute(moved):
            try:
                state = PromotionState(name[len(MOVE_PREFIX) :])
            except ValueError:
                continue  # a step written by a newer version: not a state this one knows
            moves[pid].append(Move(at, state))
        gated = (
            select(step.promotion_id, step.started_at, step.data)
            .where(step.promotion_id.in_(chunk), step.name == GATES_STEP)
            .order_by(step.promotion_id, step.id)
        )
        for pid, at, data in s.execute(gated):
            evaluations[pid].append(GateEvaluation(at, waiting_gates(data)))
    return moves, evaluations


def waiting_gates(data: Mapping[str, Any] | None) -> frozenset[str]:
    """The gate types a `gates` step says held the promotion: those whose result was
    `wait`, plus `waiting_on` (what the engine records for a wait that is not a gate,
    such as letting a rollback go first)."""
    data = data or {}
    results = data.get("results") or []
    gates = {
        str(r["gate"])
        for r in results
        if isinstance(r, Mapping) and r.get("outcome") == "wait" and r.get("gate")
    }
    gates |= {str(g) for g in data.get("waiting_on") or []}
    return frozenset(gates)


def verifications_of(s: Session, release_ids: Sequence[str]) -> list[Verification]:
    """Every verification of these releases, in every environment, oldest first."""
    facts: list[Verification] = []
    for chunk in _chunks(sorted(set(release_ids))):
        query = select(
            VerificationRow.release_id,
            VerificationRow.environment,
            VerificationRow.app,
            VerificationRow.promotion_id,
            VerificationRow.verified_at,
        ).where(VerificationRow.release_id.in_(chunk))
        facts += [Verification(*row) for row in s.execute(query)]
    facts.sort(key=lambda f: (f.verified_at, f.promotion_id))
    return facts


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
