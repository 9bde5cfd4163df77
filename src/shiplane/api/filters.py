"""Parsing of query filters shared by list endpoints."""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.api.problems import ProblemError


def parse_label_filters(values: Sequence[str]) -> dict[str, str]:
    """`["branch=main", "team=shop"]` -> `{"branch": "main", "team": "shop"}`."""
    labels: dict[str, str] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key.strip():
            raise ProblemError(
                422,
                f"query.label: {value!r} is not KEY=VALUE (for example label=branch=main)",
                title="Invalid request",
            )
        labels[key.strip()] = wanted
    return labels
