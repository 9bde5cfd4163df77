from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from shiplane.domain.clock import FixedClock, ManualClock, ensure_utc
from shiplane.domain.promotion import (
    ACTIVE_STATES,
    FINISHED_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    InvalidTransition,
    Promotion,
    PromotionEvent,
    PromotionState,
    Step,
    allowed_events,
    should_roll_back,
    transition,
)
from shiplane.domain.promotion_ids import is_promotion_id, new_promotion_id

S = PromotionState
E = PromotionEvent
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

EXPECTED = {
    (S.PENDING, E.STARTED): S.WAITING,
    (S.PENDING, E.ABORTED): S.ABORTED,
    (S.PENDING, E.SUPERSEDED): S.SUPERSEDED,
    (S.WAITING, E.GATES_PASSED): S.DEPLOYING,
    (S.WAITING, E.GATE_REJECTED): S.FAILED,
    (S.WAITING, E.ABORTED): S.ABORTED,
    (S.WAITING, E.SUPERSEDED): S.SUPERSEDED,
    (S.DEPLOYING, E.DEPLOYED): S.VERIFYING,
    (S.DEPLOYING, E.DEPLOY_FAILED): S.FAILED,
    (S.DEPLOYING, E.ABORTED): S.ABORTED,
    (S.VERIFYING, E.VERIFIED): S.SUCCEEDED,
    (S.VERIFYING, E.VERIFICATION_FAILED): S.FAILED,
    (S.VERIFYING, E.ABORTED): S.ABORTED,
    (S.FAILED, E.ROLLBACK_STARTED): S.ROLLING_BACK,
    (S.ROLLING_BACK, E.ROLLED_BACK): S.ROLLED_BACK,
    (S.ROLLING_BACK, E.ROLLBACK_FAILED): S.FAILED,
}


def promotion(**overrides: object) -> Promotion:
    fields: dict[str, object] = {
        "id": "prm-01",
        "release_id": "rel-a",
        "environment": "prod",
        "apps": ("checkout",),
        "requested_by": "alice",
        "created_at": T0,
    }
    fields.update(overrides)
    return Promotion(**fields)  # type: ignore[arg-type]


def test_the_table_is_exactly_the_designed_lifecycle():
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("state,event", list(itertools.product(S, E)))
def test_every_state_event_pair_is_allowed_or_refused(state, event):
    if (state, event) in EXPECTED:
        assert transition(state, event) == EXPECTED[(state, event)]
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(state, event)
        assert caught.value.state == state and caught.value.event == event
        assert f"cannot apply {event.value!r} to a promotion in {state.value}" in str(caught.value)


def test_refusal_lists_what_is_allowed():
    with pytest.raises(InvalidTransition, match=r"only these events are allowed: aborted, "):
        transition(S.DEPLOYING, E.GATES_PASSED)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_have_no_way_out(state):
    assert allowed_events(state) == []
    with pytest.raises(InvalidTransition, match="terminal state"):
        transition(state, E.ABORTED)


def test_state_groups():
    assert {S.SUCCEEDED, S.ABORTED, S.SUPERSEDED, S.ROLLED_BACK} == TERMINAL_STATES
    assert TERMINAL_STATES | {S.FAILED} == FINISHED_STATES
    assert {S.WAITING, S.DEPLOYING, S.VERIFYING, S.ROLLING_BACK} == ACTIVE_STATES
    assert not ACTIVE_STATES & FINISHED_STATES and S.PENDING not in ACTIVE_STATES | FINISHED_STATES


def test_every_state_is_reachable_from_pending():
    seen, frontier = {S.PENDING}, [S.PENDING]
    while frontier:
        state = frontier.pop()
        for event in allowed_events(state):
            nxt = transition(state, event)
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(S)


def test_promotion_apply_records_reason_and_time():
    p = promotion()
    assert p.state == S.PENDING and not p.is_active and not p.is_finished
    later = T0 + timedelta(minutes=1)
    waiting = p.apply(E.STARTED, at=later, reason="its turn")
    assert waiting.state == S.WAITING and waiting.reason == "its turn"
    assert waiting.updated_at == later and waiting.is_active
    assert p.state == S.PENDING  # values are immutable
    with pytest.raises(InvalidTransition):
        waiting.apply(E.VERIFIED, at=later)


def test_promotion_validates_inputs():
    with pytest.raises(ValueError, match="at least one app"):
        promotion(apps=())
    with pytest.raises(ValueError, match="naive datetime"):
        promotion(created_at=datetime(2026, 1, 1))
    berlin = datetime.fromisoformat("2026-07-01T14:00:00+02:00")
    assert promotion(created_at=berlin).created_at == datetime(2026, 7, 1, 12, tzinfo=UTC)


def test_step_finishes_once():
    step = Step("commit", started=T0)
    done = step.finish("succeeded", at=T0 + timedelta(seconds=2), detail="abc123")
    assert (done.outcome, done.detail, done.ended) == (
        "succeeded",
        "abc123",
        T0 + timedelta(seconds=2),
    )
    with pytest.raises(ValueError, match="already ended"):
        done.finish("failed", at=T0)
    with pytest.raises(ValueError, match="succeeded, failed or skipped"):
        step.finish("running", at=T0)


@pytest.mark.parametrize(
    "kind,failed_from,on_failure,expected",
    [
        ("normal", S.VERIFYING, "auto", True),
        ("normal", S.DEPLOYING, "auto", True),
        ("normal", S.VERIFYING, "manual", False),
        ("normal", S.WAITING, "auto", False),  # a gate rejection deployed nothing
        ("rollback", S.VERIFYING, "auto", False),  # rollbacks never roll back
        ("normal", S.ROLLING_BACK, "auto", False),  # the rollback failed: a person decides
    ],
)
def test_should_roll_back(kind, failed_from, on_failure, expected):
    failed = promotion(kind=kind, state=S.FAILED)
    assert should_roll_back(failed, failed_from=failed_from, on_failure=on_failure) is expected


def test_should_roll_back_needs_a_failed_promotion():
    assert not should_roll_back(promotion(), failed_from=S.VERIFYING, on_failure="auto")


def test_promotion_ids_are_sortable_and_unique():
    ids = [new_promotion_id(T0 + timedelta(milliseconds=i)) for i in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert all(is_promotion_id(i) and len(i) == 30 for i in ids)
    same_ms = {new_promotion_id(T0) for _ in range(100)}
    assert len(same_ms) == 100


def test_promotion_id_is_deterministic_with_injected_randomness():
    zero = new_promotion_id(datetime(1970, 1, 1, tzinfo=UTC), random_bytes=bytes)
    assert zero == "prm-" + "0" * 26
    known = new_promotion_id(T0, random_bytes=lambda n: b"\xff" * n)
    assert known.endswith("Z" * 16) and is_promotion_id(known)
    assert not is_promotion_id("prm-01ILOU") and not is_promotion_id("rel-" + "0" * 26)
    with pytest.raises(ValueError, match="random bytes"):
        new_promotion_id(T0, random_bytes=lambda n: b"x")


def test_clocks():
    fixed = FixedClock(T0)
    assert fixed.now() == T0 == fixed.now()
    manual = ManualClock(T0)
    assert manual.advance(timedelta(minutes=30)) == T0 + timedelta(minutes=30) == manual.now()
    with pytest.raises(ValueError, match="backwards"):
        manual.advance(timedelta(seconds=-1))
    assert manual.set(T0) == T0
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2026, 1, 1))
    assert ensure_utc(datetime.fromisoformat("2026-01-01T01:00:00+01:00")) == datetime(
        2026, 1, 1, tzinfo=UTC
    )
