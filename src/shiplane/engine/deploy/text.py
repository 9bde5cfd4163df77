"""How deploy failures read in run rows, audit events and errors."""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.domain.errors import ShiplaneError
from shiplane.gitops.errors import GitError, RenderError
from shiplane.kube.apply_results import ApplyError, ApplyProblem


def describe(exc: BaseException | None) -> str:
    """One app's failure: our own errors say enough; anything else names its type."""
    if exc is None:
        return ""
    if isinstance(exc, RenderError | ApplyError | ShiplaneError | GitError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def problems_text(problems: Sequence[ApplyProblem]) -> str:
    return "; ".join(f"{p.ref}: {p.message}" for p in problems)
