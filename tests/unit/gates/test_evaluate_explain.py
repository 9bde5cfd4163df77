from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shiplane.config.models import UnknownNameError
from shiplane.domain.clock import ManualClock
from shiplane.domain.promotion import PromotionEvent, PromotionState, Step
from shiplane.domain.promotion_controls import Freeze
from shiplane.domain.registry import PluginConfigError
from shiplane.gates import (
    GATE_ORDER,
    GATES,
    GateResult,
    Outcome,
    configured,
    evaluate_all,
    explain,
    gates_for,
    next_check,
    overall,
)

from .factory import T0, approval, context, project, promotion

PROJECT = project(
    {
        "staging": {},
        "prod": {
            "after": ["staging"],
            "soak": "30m",
            "approvals": {"required": 2, "groups": ["release-managers"]},
            "windows": ["business-hours"],
        },
    },
    windows={
        "business-hours": {
            "allow": {"days": "Mon-Fri", "from": "09:00", "to": "17:00"},
            "timezone": "Europe/Berlin",
        }
    },
    conditions={
        "prod-only-main": {"environments": ["prod"], "reject": "release.labels.branch != 'main'"}
    },
)
FRIDAY_EVENING = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)


def r(gate: str, outcome: Outcome) -> GateResult:
    return GateResult(gate, outcome, f"{gate} {outcome.value}")


def test_registry_holds_every_gate_with_a_schema():
    assert GATES.names() == sorted(GATE_ORDER)
    for entry in GATES:
        assert entry.plugin.name == entry.name and entry.schema is entry.plugin.schema
        assert entry.description


def test_gates_for_follows_the_config_in_a_fixed_order():
    assert [g.name for g in gates_for(PROJECT, "prod")] == [
        "freeze", "hold", "condition", "upstream", "soak", "approval", "window",
    ]  # fmt: skip
    assert [g.name for g in gates_for(PROJECT, "staging")] == ["freeze", "hold"]
    with pytest.raises(UnknownNameError, match="environment 'nope' is not defined"):
        gates_for(PROJECT, "nope")


def test_configured_validates_against_the_schema():
    gate = configured("approval", {"required": 2, "groups": ["ops"]})
    assert gate.config.required == 2  # type: ignore[attr-defined]
    with pytest.raises(PluginConfigError, match=r"gate 'approval': requird: Extra inputs"):
        configured("approval", {"requird": 2})
    with pytest.raises(KeyError, match="did you mean 'window'"):
        configured("windw", {})


def test_overall_reject_wins_then_wait():
    assert overall([]) == Outcome.PASS
    assert overall([r("a", Outcome.PASS), r("b", Outcome.WAIT)]) == Outcome.WAIT
    assert overall([r("a", Outcome.WAIT), r("b", Outcome.REJECT), r("c", Outcome.PASS)]) == (
        Outcome.REJECT
    )


def full_context(now: datetime, **kw):
    kw.setdefault("verified", {"staging": {"checkout": T0 - timedelta(hours=1)}})
    return context(PROJECT, clock=ManualClock(now), **kw)


def test_evaluate_all_reports_every_gate_in_order():
    results = evaluate_all(full_context(FRIDAY_EVENING), gates_for(PROJECT, "prod"))
    assert [x.gate for x in results] == list(GATE_ORDER)
    outcome = {x.gate: x.outcome for x in results}
    assert outcome == {
        "freeze": Outcome.PASS, "hold": Outcome.PASS, "condition": Outcome.PASS,
        "upstream": Outcome.PASS, "soak": Outcome.PASS,
        "approval": Outcome.WAIT, "window": Outcome.WAIT,
    }  # fmt: skip
    assert overall(results) == Outcome.WAIT
    assert next_check(results) == datetime(2026, 11, 30, 8, tzinfo=UTC)


def test_the_whole_story_passes_once_approved_inside_the_window():
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    approvals = [approval("bob", at=monday), approval("dave", at=monday)]
    results = evaluate_all(full_context(monday, approvals=approvals), gates_for(PROJECT, "prod"))
    assert overall(results) == Outcome.PASS, [x.reason for x in results]


def test_rollbacks_are_gated_by_freeze_only():
    freezes = [Freeze("environment", "prod", "incident 42", "bob", T0)]
    ctx = full_context(FRIDAY_EVENING, prm=promotion(kind="rollback"), verified={}, freezes=freezes)
    results = evaluate_all(ctx, gates_for(PROJECT, "prod"))
    assert overall(results) == Outcome.PASS  # allowRollback defaults to true
    assert {x.reason for x in results if x.gate != "freeze"} == {"not checked for rollbacks"}


def test_results_are_recorded_as_json_and_read_back():
    results = evaluate_all(full_context(FRIDAY_EVENING), gates_for(PROJECT, "prod"))
    for result in results:
        record = json.loads(json.dumps(result.to_record()))
        back = GateResult.from_record(record)
        assert (back.gate, back.outcome, back.reason, back.next_check_at) == (
            result.gate, result.outcome, result.reason, result.next_check_at,
        )  # fmt: skip


# --- explain -------------------------------------------------------------------------------


def test_explain_a_waiting_promotion():
    ctx = full_context(FRIDAY_EVENING, approvals=[approval("alice"), approval("bob")])
    results = evaluate_all(ctx, gates_for(PROJECT, "prod"))
    text = explain(ctx.promotion, results, [])
    assert text == "\n".join(
        [
            "Promotion prm-01: release rel-a to prod (checkout), requested by alice at "
            "2026-11-27 12:00:00 UTC. State: Waiting.",
            "Waiting on 2 of 7 gates:",
            "  - approval: waiting for 1 more approval from group release-managers (approved so "
            "far by bob); alice cannot approve their own request",
            "    To unblock: someone from group release-managers runs `shiplane approve prm-01` "
            "(1 more approval needed)",
            "  - window: outside window business-hours (Mon-Fri 09:00-17:00 Europe/Berlin); "
            "opens Mon 2026-11-30 09:00 CET",
            "    To unblock: nothing to do: it starts by itself when the window opens",
            "Next check: 2026-11-28 12:00:00 UTC (or earlier when something changes).",
            "Passed: freeze, hold, condition, upstream, soak.",
        ]
    )


def test_explain_a_frozen_promotion():
    freezes = [Freeze("environment", "prod", "incident 42", "bob", T0)]
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    ctx = full_context(
        monday, freezes=freezes, approvals=[approval("x", at=monday), approval("y", at=monday)]
    )
    text = explain(ctx.promotion, evaluate_all(ctx, gates_for(PROJECT, "prod")), [])
    assert "  - freeze: frozen by bob: incident 42\n" in text
    assert "To unblock: it continues by itself after `shiplane unfreeze prod`" in text
    assert "Next check" not in text


def test_explain_a_rejected_promotion():
    ctx = full_context(
        FRIDAY_EVENING, approvals=[approval("dave", decision="reject", comment="not today")]
    )
    results = evaluate_all(ctx, gates_for(PROJECT, "prod"))
    failed = ctx.promotion.apply(
        PromotionEvent.GATE_REJECTED,
        at=FRIDAY_EVENING,
        reason="rejected by dave: not today",
    )
    text = explain(failed, results, [])
    # The root cause leads; a gate rejection deployed nothing, so there is no rollback.
    assert "State: Failed.\nRoot cause: rejected by dave: not today\nRejected by its gates:" in text
    assert "  - approval: rejected by dave: not today" in text


def test_explain_a_failed_verification_lists_the_failed_step():
    failed = promotion(state=PromotionState.FAILED, reason="verification failed: error-rate")
    steps = [
        Step("commit", T0, T0 + timedelta(seconds=1), "succeeded", "abc123"),
        Step(
            "check error-rate",
            T0,
            T0 + timedelta(minutes=5),
            "failed",
            "2 of 5 measurements > 0.01",
        ),
    ]
    text = explain(failed, [], steps)
    assert "State: Failed.\nRoot cause: verification failed: error-rate\n" in text
    assert (
        "Failed steps:\n  - check error-rate [failed] 2026-11-27 12:00:00 UTC to "
        "2026-11-27 12:05:00 UTC: 2 of 5 measurements > 0.01" in text
    )


def test_explain_other_states():
    pending = explain(promotion(state=PromotionState.PENDING), [], [])
    assert "Queued behind the active promotion" in pending
    deploying = explain(
        promotion(state=PromotionState.DEPLOYING, trigger="auto", requested_by="shiplane"),
        [],
        [Step("sync", T0)],
    )
    assert deploying.startswith("Promotion (automatic) prm-01")
    assert "Now: sync since 2026-11-27 12:00:00 UTC." in deploying
    assert "sync [running] 2026-11-27 12:00:00 UTC, still running" in deploying
    assert "Its gates have not been evaluated yet." in explain(promotion(), [], [])
    assert "All gates pass" in explain(promotion(), [r("freeze", Outcome.PASS)], [])
    rollback = explain(
        promotion(kind="rollback", state=PromotionState.SUCCEEDED, reason="ok"), [], []
    )
    assert rollback.startswith("Rollback prm-01") and "Reason: ok" in rollback


class TickingClock:
    """A clock that moves one hour every time it is read."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        self.at += timedelta(hours=1)
        return self.at


def test_all_gates_of_one_evaluation_see_the_same_instant():
    ctx = full_context(FRIDAY_EVENING)
    ticking = type(ctx)(
        **{**{f: getattr(ctx, f) for f in ctx.__slots__}, "clock": TickingClock(T0)}
    )
    results = evaluate_all(ticking, gates_for(PROJECT, "prod"))
    soak_now = next(x for x in results if x.gate == "soak").inputs["now"]
    window_now = next(x for x in results if x.gate == "window").inputs["now"]
    assert soak_now == window_now == T0 + timedelta(hours=1)
