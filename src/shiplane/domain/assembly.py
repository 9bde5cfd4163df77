"""Release assembly from what sources found (pure): which apps go in, which artifact
each gets, and whether the criterion accepts the combination.

Never partial: when one app that belongs in the release has no artifact yet, nothing is
assembled, and the reason says which app and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from shiplane.domain.expressions import ExpressionError, evaluate_bool


@dataclass(frozen=True)
class FoundArtifact:
    """An image a source selected: `reference` is `repository:tag@digest`."""

    source: str
    repository: str
    tag: str
    digest: str
    reference: str


@dataclass(frozen=True)
class Assembly:
    """`artifacts` (app -> reference) to release, or `reason` why nothing is."""

    artifacts: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


def apps_to_assemble(
    changed: str,
    feeds: Mapping[str, Sequence[str]],
    mode: Literal["all", "changed"],
) -> list[str]:
    """The changed source's apps, or every app an image source feeds (sorted)."""
    if mode == "changed":
        return sorted(set(feeds.get(changed, ())))
    return sorted({app for apps in feeds.values() for app in apps})


def assemble(
    apps: Sequence[str],
    found: Mapping[str, Sequence[FoundArtifact]],
    criterion: str | None,
    missing_reasons: Mapping[str, str] | None = None,
) -> Assembly:
    """Choose each app's artifact (the first of `found[app]`, which the caller orders
    newest first) and check the criterion over all of them."""
    chosen: dict[str, FoundArtifact] = {}
    for app in apps:
        options = found.get(app) or ()
        if not options:
            why = (missing_reasons or {}).get(app, "its source has found nothing yet")
            return Assembly(reason=f"not assembled: app {app} has no artifact ({why})")
        chosen[app] = options[0]
    if not chosen:
        return Assembly(reason="not assembled: no app is fed by an image source")
    if criterion:
        variables = {
            "artifacts": {
                app: {
                    "tag": a.tag,
                    "version": a.tag,
                    "digest": a.digest,
                    "repository": a.repository,
                    "source": a.source,
                }
                for app, a in chosen.items()
            }
        }
        try:
            accepted = evaluate_bool(criterion, variables)
        except ExpressionError as exc:
            return Assembly(reason=f"not assembled: the criterion failed: {exc}")
        if not accepted:
            combination = ", ".join(f"{app}={a.tag}" for app, a in chosen.items())
            return Assembly(
                reason=f"not assembled: the criterion rejects {combination} ({criterion})"
            )
    return Assembly({app: a.reference for app, a in chosen.items()})
