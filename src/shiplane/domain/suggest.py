"""Human-friendly wording shared by every check and the CLI: "did you mean" suggestions
and value descriptions (pure: no I/O, difflib only)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to `name`, or None when nothing is close enough.

    Case is ignored when comparing because `autopromote` vs `autoPromote` is the most
    common slip, and difflib's ratio punishes case differences as much as typos.
    """
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], kind: str) -> str:
    """A suffix for an error message: `; did you mean 'prod'?` or the list of valid names."""
    names = list(candidates)
    match = closest(name, names)
    if match is not None:
        return f"; did you mean '{match}'?"
    if not names:
        return f"; no {kind}s are defined"
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return f"; defined {kind}s: {shown}"


def describe(value: object) -> str:
    """Describe a YAML value in an error message without dumping large structures."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return str(value)
