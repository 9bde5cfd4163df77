"""`explain` for a promotion that failed: the root cause first, then what followed.

A failed promotion's reason is overwritten by what happens next ("rolling back to ...",
"rolled back by ..."), so the cause is read back from its steps: the first move to
Failed says why it failed, the failed check's step keeps the check's result (with the
Job's recorded logs), and the rollback's steps say whether shiplane rolled back by
itself. Holds on its apps say why auto-promotion no longer moves them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.domain.promotion_controls import Hold

S = PromotionState

FAILURE_STATES = frozenset({S.FAILED, S.ROLLING_BACK, S.ROLLED_BACK})
"""States whose explanation leads with the root cause."""

LOG_LINES = 15
"""Recorded log lines shown under the root cause (the step keeps them all)."""

_JOB = re.compile(r"\(Job (?P<namespace>[a-z0-9.-]+)/(?P<name>[a-z0-9.-]+)\)")
_CHECK = re.compile(r"^check (?P<name>\S+) failed")


@dataclass(frozen=True, slots=True)
class RootCause:
    text: str
    """Why it failed, as recorded when it did."""
    check: Step | None = None
    """The failed check's step, when a check failed it."""


def root_cause(promotion: Promotion, steps: Sequence[Step]) -> RootCause:
    moves = [s for s in steps if s.name == f"-> {S.FAILED.value}"]
    text = moves[0].detail if moves and moves[0].detail else promotion.reason
    failed_checks = [s for s in steps if s.name.startswith("check ") and s.outcome == "failed"]
    named = _CHECK.match(text)
    check = None
    if named is not None:
        check = next((s for s in failed_checks if s.name == f"check {named['name']}"), None)
    elif failed_checks:
        check = failed_checks[0]
    return RootCause(text or "no reason was recorded", check)


def _check_result(step: Step) -> Mapping[str, object]:
    result = step.data.get("result")
    return result if isinstance(result, Mapping) else {}


def _log_lines(step: Step) -> list[str]:
    result = _check_result(step)
    reason = str(result.get("reason") or step.detail)
    lines: list[str] = []
    job = _JOB.search(reason)
    if job is not None:
        lines.append(
            f"  Job logs: `kubectl logs -n {job['namespace']} job/{job['name']}` "
            "(while the Job exists; its `ttl` removes it)"
        )
    logs = str(result.get("logs") or "").rstrip()
    if logs:
        recorded = logs.splitlines()
        shown = recorded[-LOG_LINES:]
        more = len(recorded) - len(shown)
        lines.append(
            "  Recorded when it failed"
            + (f" (last {len(shown)} of {len(recorded)} lines)" if more else "")
            + ":"
        )
        lines += ["    " + line for line in shown]
    return lines


def _rollback_lines(promotion: Promotion, steps: Sequence[Step]) -> list[str]:
    deployed = any(s.name == f"-> {S.DEPLOYING.value}" for s in steps)
    if promotion.kind == "rollback" or not deployed:
        return []  # a rollback is not rolled back; a gate rejection changed nothing
    started = next((s for s in steps if s.name == f"-> {S.ROLLING_BACK.value}"), None)
    skipped = next((s for s in steps if s.name == "rollback" and s.outcome == "skipped"), None)
    if started is None:
        if skipped is not None:
            return [f"Not rolled back automatically: {skipped.detail}."]
        return [
            "Not rolled back automatically (nothing was deployed, or the environment "
            f"rolls back by hand); `shiplane rollback {promotion.environment} APP` does it."
        ]
    lines = [f"Rolled back automatically by shiplane: {started.detail}."]
    ended = [s for s in steps if s.started >= started.started and s.name.startswith("-> ")]
    last = ended[-1] if ended else None
    if last is not None and last.name == f"-> {S.ROLLED_BACK.value}":
        lines.append(f"The rollback succeeded ({last.detail}).")
    elif last is not None and last.name == f"-> {S.FAILED.value}":
        lines.append(f"The rollback did not succeed: {last.detail}; a person must act.")
    else:
        lines.append("The rollback is still running.")
    return lines


def _hold_lines(promotion: Promotion, holds: Sequence[Hold]) -> list[str]:
    mine = [h for h in holds if h.environment == promotion.environment and h.app in promotion.apps]
    return [
        f"Hold: {h.environment}/{h.app} is now held ({h.reason or 'no reason'}, by {h.set_by}): "
        f"auto-promotion leaves it alone until `shiplane unhold {h.environment} {h.app}`."
        for h in mine
    ]


def failure_lines(
    promotion: Promotion, steps: Sequence[Step], holds: Sequence[Hold] = ()
) -> list[str]:
    """The lines that lead `explain` for a failed or rolled-back promotion."""
    cause = root_cause(promotion, steps)
    lines = [f"Root cause: {cause.text}"]
    if cause.check is not None:
        check_reason = _check_result(cause.check).get("reason") or cause.check.detail
        if check_reason and str(check_reason) not in cause.text:
            lines.append(f"  {cause.check.name}: {check_reason}")
        lines += _log_lines(cause.check)
    lines += _rollback_lines(promotion, steps)
    lines += _hold_lines(promotion, holds)
    return lines
