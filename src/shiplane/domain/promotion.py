"""The promotion state machine (DESIGN.md, "Promotion lifecycle"). Pure, no I/O.

    Pending -> Waiting(gates) -> Deploying(commit, sync) -> Verifying(health, checks, soak)
            -> Succeeded | Failed | Aborted | Superseded
    Failed  -> RollingBack -> RolledBack           (when the environment's policy says so)

Every allowed move is one row of `TRANSITIONS`; anything else raises `InvalidTransition`,
so a bug in a controller (or a stale API call racing one) cannot put a promotion into a
state it could never reach. The engine persists each `Promotion` and `Step`; both are
plain frozen values so they map one-to-one onto rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from shiplane.domain.clock import ensure_utc


class PromotionState(StrEnum):
    PENDING = "Pending"
    """Created and queued behind the active promotion of its (environment, app)."""
    WAITING = "Waiting"
    """The active promotion of its (environment, app); gates are evaluated until they pass."""
    DEPLOYING = "Deploying"
    """Committing the pin to git and syncing it to the cluster."""
    VERIFYING = "Verifying"
    """Waiting for health, running checks, soaking."""
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ABORTED = "Aborted"
    SUPERSEDED = "Superseded"
    ROLLING_BACK = "RollingBack"
    """A rollback promotion is bringing back the last verified release."""
    ROLLED_BACK = "RolledBack"


class PromotionEvent(StrEnum):
    STARTED = "started"
    """The queue let it start: it became the active promotion of its (environment, app)."""
    GATES_PASSED = "gates_passed"
    GATE_REJECTED = "gate_rejected"
    """A gate said no for good (an approver rejected it, a condition rejects the release)."""
    DEPLOYED = "deployed"
    DEPLOY_FAILED = "deploy_failed"
    VERIFIED = "verified"
    VERIFICATION_FAILED = "verification_failed"
    ABORTED = "aborted"
    SUPERSEDED = "superseded"
    ROLLBACK_STARTED = "rollback_started"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


S = PromotionState
E = PromotionEvent

TRANSITIONS: Mapping[tuple[PromotionState, PromotionEvent], PromotionState] = {
    (S.PENDING, E.STARTED): S.WAITING,
    (S.PENDING, E.ABORTED): S.ABORTED,
    (S.PENDING, E.SUPERSEDED): S.SUPERSEDED,
    (S.WAITING, E.GATES_PASSED): S.DEPLOYING,
    (S.WAITING, E.GATE_REJECTED): S.FAILED,
    (S.WAITING, E.ABORTED): S.ABORTED,
    # A waiting auto-promotion has deployed nothing yet, so a newer release may replace it.
    (S.WAITING, E.SUPERSEDED): S.SUPERSEDED,
    (S.DEPLOYING, E.DEPLOYED): S.VERIFYING,
    (S.DEPLOYING, E.DEPLOY_FAILED): S.FAILED,
    (S.DEPLOYING, E.ABORTED): S.ABORTED,
    (S.VERIFYING, E.VERIFIED): S.SUCCEEDED,
    (S.VERIFYING, E.VERIFICATION_FAILED): S.FAILED,
    (S.VERIFYING, E.ABORTED): S.ABORTED,
    (S.FAILED, E.ROLLBACK_STARTED): S.ROLLING_BACK,
    (S.ROLLING_BACK, E.ROLLED_BACK): S.ROLLED_BACK,
    # The rollback itself failed; the promotion stays failed and a person must act.
    (S.ROLLING_BACK, E.ROLLBACK_FAILED): S.FAILED,
}
"""(state, event) -> next state. Everything not listed is forbidden."""

TERMINAL_STATES: frozenset[PromotionState] = frozenset(
    {S.SUCCEEDED, S.ABORTED, S.SUPERSEDED, S.ROLLED_BACK}
)
"""No event leaves these states."""

FINISHED_STATES: frozenset[PromotionState] = TERMINAL_STATES | {S.FAILED}
"""The promotion no longer runs (Failed may still be followed by a rollback)."""

ACTIVE_STATES: frozenset[PromotionState] = frozenset(
    {S.WAITING, S.DEPLOYING, S.VERIFYING, S.ROLLING_BACK}
)
"""States that occupy the single active slot of each (environment, app)."""

PromotionKind = Literal["normal", "rollback"]
PromotionTrigger = Literal["manual", "auto"]
StepOutcome = Literal["running", "succeeded", "failed", "skipped"]


class InvalidTransition(ValueError):
    """An event that is not allowed in the promotion's current state."""

    def __init__(self, state: PromotionState, event: PromotionEvent) -> None:
        self.state = state
        self.event = event
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s == state)
        if allowed:
            hint = f"in {state.value} only these events are allowed: {', '.join(allowed)}"
        else:
            hint = f"{state.value} is a terminal state; nothing can happen to it any more"
        super().__init__(f"cannot apply {event.value!r} to a promotion in {state.value}: {hint}")


def transition(state: PromotionState, event: PromotionEvent) -> PromotionState:
    """The state after `event`, or InvalidTransition."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event) from None


def allowed_events(state: PromotionState) -> list[PromotionEvent]:
    return [e for (s, e) in TRANSITIONS if s == state]


@dataclass(frozen=True, slots=True)
class Promotion:
    """A request to bring a release into an environment, and where it stands."""

    id: str
    release_id: str
    environment: str
    apps: tuple[str, ...]
    """Apps of the release this promotion deploys (a release train lists several)."""
    requested_by: str
    created_at: datetime
    kind: PromotionKind = "normal"
    trigger: PromotionTrigger = "manual"
    """`auto` when the auto-promoter created it; only those are superseded or held back."""
    state: PromotionState = PromotionState.PENDING
    reason: str = ""
    """Why it is in its state, in plain words (set on every transition)."""
    updated_at: datetime | None = None
    rollback_of: str | None = None
    """For a rollback created after a failure: the id of the promotion that failed."""

    def __post_init__(self) -> None:
        if not self.apps:
            raise ValueError("a promotion deploys at least one app")
        object.__setattr__(self, "created_at", ensure_utc(self.created_at))

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def apply(self, event: PromotionEvent, *, at: datetime, reason: str = "") -> Promotion:
        """A copy in the state after `event` (InvalidTransition when not allowed)."""
        return replace(
            self, state=transition(self.state, event), reason=reason, updated_at=ensure_utc(at)
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded step of a promotion (a gate evaluation, a commit, a sync, a check)."""

    name: str
    started: datetime
    ended: datetime | None = None
    outcome: StepOutcome = "running"
    detail: str = ""
    data: Mapping[str, object] = field(default_factory=dict)
    """Structured inputs or results kept for `explain` (JSON-serialisable values)."""

    def finish(self, outcome: StepOutcome, *, at: datetime, detail: str = "") -> Step:
        if self.ended is not None:
            raise ValueError(f"step {self.name!r} already ended ({self.outcome})")
        if outcome == "running":
            raise ValueError("a step finishes with succeeded, failed or skipped")
        return replace(self, ended=ensure_utc(at), outcome=outcome, detail=detail or self.detail)


def should_roll_back(
    promotion: Promotion, *, failed_from: PromotionState, on_failure: Literal["auto", "manual"]
) -> bool:
    """Whether a promotion that just failed from `failed_from` gets an automatic rollback.

    Only when something was deployed (a gate rejection changed nothing in the cluster),
    only for normal promotions (a failed rollback must not trigger another rollback), and
    only when the environment says `rollback.onFailure: auto`.
    """
    return (
        promotion.state == PromotionState.FAILED
        and promotion.kind == "normal"
        and failed_from in (PromotionState.DEPLOYING, PromotionState.VERIFYING)
        and on_failure == "auto"
    )
