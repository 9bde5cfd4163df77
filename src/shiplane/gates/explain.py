"""`shiplane promotion explain`: why a promotion waits or failed, in plain words.

Built only from what is recorded (the promotion, its latest gate results, its steps), so
it explains a promotion long after the fact exactly as it looked then. Given the time it
is read (`now`), a wait that ends at a known instant (a soak, a window) also says how
long is left from then: a count-down, not the remaining time at evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shiplane.config.durations import format_duration
from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.domain.promotion_controls import Hold
from shiplane.gates.explain_failure import FAILURE_STATES, failure_lines
from shiplane.gates.results import GateResult, Outcome, next_check

S = PromotionState


def _at(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _headline(promotion: Promotion) -> str:
    kind = "rollback" if promotion.kind == "rollback" else "promotion"
    trigger = " (automatic)" if promotion.trigger == "auto" else ""
    return (
        f"{kind.capitalize()}{trigger} {promotion.id}: release {promotion.release_id} to "
        f"{promotion.environment} ({', '.join(promotion.apps)}), requested by "
        f"{promotion.requested_by} at {_at(promotion.created_at)}. State: {promotion.state.value}."
    )


def _left(result: GateResult, now: datetime | None) -> str:
    """`; 12m left` for a wait that ends at a known instant, counted from `now`."""
    if now is None or result.outcome != Outcome.WAIT or result.next_check_at is None:
        return ""
    seconds = (result.next_check_at - now).total_seconds()
    if seconds <= 0:
        return "; due now"
    return f"; {format_duration(int(seconds + 0.999))} left"


def _gate_lines(
    results: Sequence[GateResult], outcome: Outcome, now: datetime | None = None
) -> list[str]:
    lines = []
    for r in results:
        if r.outcome != outcome:
            continue
        lines.append(f"  - {r.gate}: {r.reason}{_left(r, now)}")
        if r.unblock_hint:
            lines.append(f"    To unblock: {r.unblock_hint}")
    return lines


def _step_line(step: Step) -> str:
    span = _at(step.started) + (f" to {_at(step.ended)}" if step.ended else ", still running")
    detail = f": {step.detail}" if step.detail else ""
    return f"  - {step.name} [{step.outcome}] {span}{detail}"


def _waiting(results: Sequence[GateResult], now: datetime | None) -> list[str]:
    if not results:
        return ["Its gates have not been evaluated yet."]
    blocking = [r for r in results if r.outcome != Outcome.PASS]
    if not blocking:
        return ["All gates pass; it deploys on the next reconcile."]
    lines = [f"Waiting on {len(blocking)} of {len(results)} gates:"]
    lines += _gate_lines(results, Outcome.REJECT) + _gate_lines(results, Outcome.WAIT, now)
    when = next_check(results)
    if when is not None:
        lines.append(f"Next check: {_at(when)} (or earlier when something changes).")
    return lines


def explain(
    promotion: Promotion,
    gate_results: Sequence[GateResult],
    steps: Sequence[Step],
    *,
    now: datetime | None = None,
    holds: Sequence[Hold] = (),
) -> str:
    """A few lines of text: what state it is in, why, and what would unblock it (and,
    given `now`, how long a timed wait has left). A failed or rolled-back promotion leads
    with its root cause, then the rollback and the `holds` on its apps."""
    lines = [_headline(promotion)]
    state = promotion.state
    if state in FAILURE_STATES:
        lines += failure_lines(promotion, steps, holds)
    said = f"Root cause: {promotion.reason}" in lines  # no need to say it twice
    if promotion.reason and state != S.WAITING and not said:
        lines.append(f"Reason: {promotion.reason}")
    if state == S.PENDING:
        lines.append(
            "Queued behind the active promotion of the same environment and app; "
            "it starts when that one finishes."
        )
    elif state == S.WAITING:
        # The reason is the gates' summary, unless something else holds the promotion
        # (it lets a rollback go first).
        summary = "; ".join(
            f"{r.gate}: {r.reason}" for r in gate_results if r.outcome != Outcome.PASS
        )
        if promotion.reason not in ("", summary, "evaluating gates"):
            lines.append(f"Now: {promotion.reason}.")
        lines += _waiting(gate_results, now)
    elif state in (S.DEPLOYING, S.VERIFYING, S.ROLLING_BACK):
        running = [s for s in steps if s.ended is None]
        if running:
            lines.append(f"Now: {running[-1].name} since {_at(running[-1].started)}.")
    elif state == S.FAILED:
        rejected = _gate_lines(gate_results, Outcome.REJECT)
        if rejected:
            lines.append("Rejected by its gates:")
            lines += rejected
        failed = [s for s in steps if s.outcome == "failed"]
        if failed:
            lines.append("Failed steps:")
            lines += [_step_line(s) for s in failed]
    passed = [r.gate for r in gate_results if r.outcome == Outcome.PASS]
    if passed and state in (S.WAITING, S.FAILED):
        lines.append(f"Passed: {', '.join(passed)}.")
    if steps:
        lines.append("Steps:")
        lines += [_step_line(s) for s in steps]
    return "\n".join(lines)
