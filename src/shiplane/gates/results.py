"""What a gate says: pass, wait or reject, why, on which inputs, and what would unblock it.

Results are recorded on every evaluation (the engine stores `to_record()`), which is what
lets `shiplane promotion explain` answer "why is this waiting?" later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    WAIT = "wait"
    """Not yet: re-evaluate at `next_check_at` or when something changes (an approval)."""
    REJECT = "reject"
    """Never: the promotion ends."""


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: str
    outcome: Outcome
    reason: str
    """Plain words, e.g. 'waiting for 1 more approval from group release-managers'."""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    """What the decision was based on, recorded for explain and audit."""
    next_check_at: datetime | None = None
    """When waiting on time (soak, window, expiry): when the answer can change."""
    unblock_hint: str = ""
    """What a person could do (or what will happen) to unblock it."""

    def to_record(self) -> dict[str, Any]:
        """A JSON-serialisable dict (datetimes as ISO 8601 strings)."""
        return {
            "gate": self.gate,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "inputs": jsonable(self.inputs),
            "next_check_at": self.next_check_at.isoformat() if self.next_check_at else None,
            "unblock_hint": self.unblock_hint,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> GateResult:
        next_check = record.get("next_check_at")
        return cls(
            gate=str(record["gate"]),
            outcome=Outcome(record["outcome"]),
            reason=str(record["reason"]),
            inputs=dict(record.get("inputs") or {}),
            next_check_at=datetime.fromisoformat(next_check) if next_check else None,
            unblock_hint=str(record.get("unblock_hint") or ""),
        )


def overall(results: Iterable[GateResult]) -> Outcome:
    """Reject wins, then wait; no results at all is a pass (nothing to wait for)."""
    outcomes = {r.outcome for r in results}
    if Outcome.REJECT in outcomes:
        return Outcome.REJECT
    if Outcome.WAIT in outcomes:
        return Outcome.WAIT
    return Outcome.PASS


def next_check(results: Sequence[GateResult]) -> datetime | None:
    """The earliest time a waiting gate may change its answer, if any waits on time."""
    times = [r.next_check_at for r in results if r.outcome == Outcome.WAIT and r.next_check_at]
    return min(times) if times else None


def jsonable(value: Any) -> Any:
    """`value` with datetimes, dates, tuples and sets turned into JSON-friendly forms."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    return value
