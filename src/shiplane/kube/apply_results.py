"""What dry-run and apply report: the problems per object, the result of an apply, a
preview for a diff. Plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.kube.apply_objects import describe, immutable_fields, join_fields
from shiplane.kube.apply_rest import KubeApiError
from shiplane.kube.refs import ObjRef

RECREATE_HINT = (
    "set `immutableFieldPolicy: recreate` on the app to let Shiplane delete and re-create it"
)


@dataclass(frozen=True)
class ApplyProblem:
    """Why one object cannot be (or was not) applied."""

    ref: ObjRef
    message: str
    reason: str = ""  # the API server's reason (Invalid, NotFound, ...) or Shiplane's
    field: str = ""  # the offending field path(s), when known
    # Not an error: the object could not be validated yet because something it needs
    # (its CRD, its namespace) is in the same batch and will be applied first.
    deferred: bool = False

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}"


def blocking(problems: Sequence[ApplyProblem]) -> list[ApplyProblem]:
    """The problems that must stop a sync (everything but deferred validations)."""
    return [p for p in problems if not p.deferred]


@dataclass
class ApplyResult:
    applied: list[ObjRef] = field(default_factory=list)  # every object sent, in apply order
    changed: list[ObjRef] = field(default_factory=list)  # written (created, updated, re-created)
    unchanged: list[ObjRef] = field(default_factory=list)  # the apply was a no-op
    created: list[ObjRef] = field(default_factory=list)  # did not exist before (subset of changed)
    recreated: list[ObjRef] = field(default_factory=list)  # deleted + created (subset of changed)
    skipped: list[ObjRef] = field(default_factory=list)  # known unchanged, not sent (subset)
    # The resourceVersion each sent object had after its apply (its answer's).
    versions: dict[ObjRef, str] = field(default_factory=dict)


class ApplyError(Exception):
    """Apply or validation failed; `problems` says which objects and why, and `result`
    holds what was applied before the failure (the caller's inventory must include it)."""

    def __init__(self, problems: Sequence[ApplyProblem], result: ApplyResult | None = None):
        self.problems = list(problems)
        self.result = result or ApplyResult()
        super().__init__(self.__str__())

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} object{'s' if count != 1 else ''} could not be applied:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


@dataclass(frozen=True)
class Preview:
    """One object of a diff: live state, predicted state after apply, or why neither."""

    ref: ObjRef
    live: dict[str, Any] | None
    predicted: dict[str, Any] | None
    problem: str | None


def problem_from_error(ref: ObjRef, err: KubeApiError, prefix: str = "") -> ApplyProblem:
    fields = ", ".join(dict.fromkeys(c.field for c in err.causes if c.field))
    return ApplyProblem(ref, f"{prefix}{describe(err)}", reason=err.reason, field=fields)


def immutable_problem(ref: ObjRef, err: KubeApiError) -> ApplyProblem:
    fields = immutable_fields(err)
    message = (
        f"{join_fields(fields)} cannot be changed in place (immutable); the change needs "
        f"{ref} to be deleted and re-created: {RECREATE_HINT}. API server: {describe(err)}"
    )
    return ApplyProblem(ref, message, reason="Immutable", field=", ".join(fields))
