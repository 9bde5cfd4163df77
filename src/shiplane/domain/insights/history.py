"""What insights are computed from: the recorded history of each promotion, and how it
reads at the end of a time range. Pure, no I/O.

A promotion's history is its state moves (the `-> State` steps, each with its time), its
gate evaluations (the `gates` steps: which gate types said "wait" from then on), and a
few facts of its row. `Timeline.at(until)` cuts it at the end of the range: what happened
at or after `until` has not happened yet, so a report of a past range never changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shiplane.domain.clock import ensure_utc
from shiplane.domain.promotion import PromotionState

S = PromotionState


@dataclass(frozen=True, slots=True)
class Move:
    """The promotion entered `state` at `at` (a `-> State` step)."""

    at: datetime
    state: PromotionState


@dataclass(frozen=True, slots=True)
class GateEvaluation:
    """From `at` on (until the next evaluation or the end of Waiting), these gate types
    held the promotion: `approval`, `soak`, `window`, `freeze`, `upstream`, `condition`,
    `hold`, and `rollback` (it let a rollback of its environment go first)."""

    at: datetime
    waiting: frozenset[str]


@dataclass(frozen=True, slots=True)
class PromotionHistory:
    id: str
    environment: str
    apps: tuple[str, ...]
    kind: Literal["normal", "rollback"]
    release_id: str
    release_created_at: datetime
    created_at: datetime
    moves: tuple[Move, ...]
    """In the order they happened."""
    gate_evaluations: tuple[GateEvaluation, ...] = ()
    rollback_of: str | None = None
    committed: bool = False
    """A git commit was recorded (a deploy that failed after its commit deployed something)."""
    ready_at: datetime | None = None
    """When the release became eligible for this environment: verified upstream as its
    `after` rule requires (see `ready_time`); the release's creation for a root."""
    first_verification_of: frozenset[str] = frozenset()
    """Apps for which this promotion verified the release in its environment first."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """A promotion as it stood at the end of a range: when it entered each state."""

    history: PromotionHistory
    state: PromotionState
    waiting_at: datetime | None
    deploying_at: datetime | None
    verifying_at: datetime | None
    succeeded_at: datetime | None
    failed_at: datetime | None
    failed_after_deploy: bool
    """It failed from Verifying, or from Deploying after its commit."""
    left_pending_at: datetime | None
    """When it left Pending (to Waiting, or aborted/superseded while queued)."""
    left_waiting_at: datetime | None
    left_deploying_at: datetime | None
    left_verifying_at: datetime | None

    @classmethod
    def at(cls, history: PromotionHistory, until: datetime) -> Timeline:
        state = S.PENDING
        seen: dict[PromotionState, datetime] = {}
        left: dict[PromotionState, datetime] = {}
        failed_after_deploy = False
        for move in history.moves:
            if move.at >= until:
                break
            if move.state is S.FAILED and S.FAILED not in seen:
                failed_after_deploy = state is S.VERIFYING or (
                    state is S.DEPLOYING and history.committed
                )
            left.setdefault(state, move.at)
            seen.setdefault(move.state, move.at)
            state = move.state
        return cls(
            history=history,
            state=state,
            waiting_at=seen.get(S.WAITING),
            deploying_at=seen.get(S.DEPLOYING),
            verifying_at=seen.get(S.VERIFYING),
            succeeded_at=seen.get(S.SUCCEEDED),
            failed_at=seen.get(S.FAILED),
            failed_after_deploy=failed_after_deploy,
            left_pending_at=left.get(S.PENDING),
            left_waiting_at=left.get(S.WAITING),
            left_deploying_at=left.get(S.DEPLOYING),
            left_verifying_at=left.get(S.VERIFYING),
        )

    @property
    def deployed_at(self) -> datetime | None:
        """When something reached the cluster: the deploy finished (Verifying), or a
        deploy failed after its commit (then the failure's time)."""
        if self.verifying_at is not None:
            return self.verifying_at
        if self.failed_after_deploy:
            return self.failed_at
        return None

    @property
    def is_normal(self) -> bool:
        return self.history.kind == "normal"


def ready_time(
    mode: Literal["all", "any"],
    upstream: Sequence[str],
    apps: Sequence[str],
    verified: Mapping[str, Mapping[str, datetime]],
    release_created_at: datetime,
) -> datetime | None:
    """When a release became eligible for an environment by its `after` rule: every app
    verified in every upstream environment (`all`: the latest of those times), or in at
    least one (`any`: the earliest environment to have them all). A root environment:
    the release's creation. None while the rule is not met.

    `verified`: environment -> app -> the release's first verification there."""
    if not upstream:
        return ensure_utc(release_created_at)
    per_env: list[datetime] = []
    for env in upstream:
        times = [verified.get(env, {}).get(app) for app in apps]
        if all(t is not None for t in times) and times:
            per_env.append(max(t for t in times if t is not None))
        elif mode == "all":
            return None
    if not per_env:
        return None
    return max(per_env) if mode == "all" else min(per_env)


@dataclass(frozen=True, slots=True)
class Verification:
    """A release verified in an environment for an app (a `verifications` row)."""

    release_id: str
    environment: str
    app: str
    promotion_id: str
    verified_at: datetime


UpstreamRule = tuple[Literal["all", "any"], tuple[str, ...]]
"""An environment's `after`: its mode and upstream environments."""


def with_verifications(
    histories: Sequence[PromotionHistory],
    verifications: Sequence[Verification],
    rules: Mapping[str, UpstreamRule],
) -> list[PromotionHistory]:
    """`histories` with `ready_at` (by each environment's upstream rule; None for an
    environment that is no longer configured) and `first_verification_of` filled in from
    every verification of their releases."""
    first: dict[tuple[str, str, str], Verification] = {}
    for v in sorted(verifications, key=lambda v: (v.verified_at, v.promotion_id)):
        first.setdefault((v.release_id, v.environment, v.app), v)
    verified: dict[str, dict[str, dict[str, datetime]]] = {}
    for (release_id, environment, app), v in first.items():
        verified.setdefault(release_id, {}).setdefault(environment, {})[app] = v.verified_at
    result = []
    for h in histories:
        rule = rules.get(h.environment)
        ready = None
        if rule is not None:
            mode, upstream = rule
            ready = ready_time(
                mode, upstream, h.apps, verified.get(h.release_id, {}), h.release_created_at
            )
        firsts = frozenset(
            app
            for app in h.apps
            if getattr(first.get((h.release_id, h.environment, app)), "promotion_id", None) == h.id
        )
        result.append(replace(h, ready_at=ready, first_verification_of=firsts))
    return result
