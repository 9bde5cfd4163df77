"""Release assembly from what sources found (pure): which apps go in, which image,
chart version and config commit each gets, and whether the criterion accepts the
combination.

Per app: the image its image sources found (newest change first), else the image of the
newest release that contains the app (a chart or config change keeps the images); the
chart version its chart sources found and the commit its git sources found (else, when
such a source has found nothing yet, the newest release's). Never partial: when one app
that belongs in the release has nothing to deploy, or a source that feeds it has found
nothing and no release carries that part, nothing is assembled, and the reason says
which app and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

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
class FoundChart:
    """A chart version a chart source selected (`digest`: `sha256:...` when known)."""

    source: str
    version: str
    digest: str | None = None

    @property
    def text(self) -> str:
        """What a release records: `VERSION[@sha256:...]`."""
        return f"{self.version}@{self.digest}" if self.digest else self.version


@dataclass(frozen=True)
class FoundCommit:
    """A commit a git source selected: `version` is the tag or the branch it heads."""

    source: str
    commit: str
    version: str = ""


@dataclass(frozen=True)
class PreviousContents:
    """What the newest release containing an app gave it (the fallback)."""

    release: str
    artifact: FoundArtifact
    chart: FoundChart | None = None
    commit: FoundCommit | None = None


@dataclass(frozen=True)
class AppInputs:
    """Everything an app's release contents may come from. Each `*_missing` is why the
    sources of that kind that feed the app found nothing (None: none feeds it)."""

    images: Sequence[FoundArtifact] = ()
    image_missing: str | None = None
    charts: Sequence[FoundChart] = ()
    chart_missing: str | None = None
    commits: Sequence[FoundCommit] = ()
    commit_missing: str | None = None
    previous: PreviousContents | None = None


@dataclass(frozen=True)
class Assembly:
    """The contents to release (app -> image reference, chart text, commit), or `reason`
    why nothing is."""

    artifacts: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    charts: dict[str, str] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)


def apps_to_assemble(
    changed: str,
    feeds: Mapping[str, Sequence[str]],
    mode: Literal["all", "changed"],
) -> list[str]:
    """The changed source's apps, or every app a source feeds (sorted)."""
    if mode == "changed":
        return sorted(set(feeds.get(changed, ())))
    return sorted({app for apps in feeds.values() for app in apps})


def assemble(
    apps: Sequence[str],
    found: Mapping[str, Sequence[FoundArtifact]],
    criterion: str | None,
    missing_reasons: Mapping[str, str] | None = None,
) -> Assembly:
    """Images only: choose each app's artifact (the first of `found[app]`, which the
    caller orders newest first) and check the criterion over all of them."""
    missing = missing_reasons or {}
    inputs = {
        app: AppInputs(
            images=found.get(app) or (),
            image_missing=missing.get(app, "its source has found nothing yet"),
        )
        for app in apps
    }
    return assemble_contents(apps, inputs, criterion)


def assemble_contents(
    apps: Sequence[str], inputs: Mapping[str, AppInputs], criterion: str | None
) -> Assembly:
    """Choose each app's image, chart and commit (module docstring) and check the
    criterion over all of them."""
    images: dict[str, FoundArtifact] = {}
    charts: dict[str, FoundChart] = {}
    commits: dict[str, FoundCommit] = {}
    for app in apps:
        given = inputs.get(app, AppInputs())
        previous = given.previous
        if given.images:
            images[app] = given.images[0]
        elif previous is not None:
            images[app] = previous.artifact
        else:
            why = given.image_missing or "no image source feeds it and no release contains it"
            return Assembly(reason=f"not assembled: app {app} has no artifact ({why})")
        chart = _choose(given.charts, given.chart_missing, previous.chart if previous else None)
        if isinstance(chart, str):
            return Assembly(reason=f"not assembled: app {app} has no chart version ({chart})")
        if chart is not None:
            charts[app] = chart
        commit = _choose(given.commits, given.commit_missing, previous.commit if previous else None)
        if isinstance(commit, str):
            return Assembly(reason=f"not assembled: app {app} has no config commit ({commit})")
        if commit is not None:
            commits[app] = commit
    if not images:
        return Assembly(reason="not assembled: no app is fed by a source")
    if criterion:
        try:
            accepted = evaluate_bool(criterion, criterion_variables(images, charts, commits))
        except ExpressionError as exc:
            return Assembly(reason=f"not assembled: the criterion failed: {exc}")
        if not accepted:
            combination = ", ".join(
                f"{app}={a.tag}"
                + (f" chart {charts[app].version}" if app in charts else "")
                + (f" commit {commits[app].commit[:12]}" if app in commits else "")
                for app, a in images.items()
            )
            return Assembly(
                reason=f"not assembled: the criterion rejects {combination} ({criterion})"
            )
    return Assembly(
        {app: a.reference for app, a in images.items()},
        charts={app: c.text for app, c in charts.items()},
        commits={app: c.commit for app, c in commits.items()},
    )


_Choice = TypeVar("_Choice", FoundChart, FoundCommit)


def _choose(
    found: Sequence[_Choice], missing: str | None, previous: _Choice | None
) -> _Choice | str | None:
    """The newest found, else (a source feeds the app but found nothing) the previous
    release's; a reason (str) when neither; None when no such source feeds the app."""
    if found:
        return found[0]
    if missing is None:
        return None
    return previous if previous is not None else missing


def criterion_variables(
    images: Mapping[str, FoundArtifact],
    charts: Mapping[str, FoundChart],
    commits: Mapping[str, FoundCommit],
) -> dict[str, object]:
    """What the criterion sees (docs/sources.md): `artifacts.<app>` (tag, version, digest,
    repository, source), `charts.<app>` (version, digest, source) and `commits.<app>`
    (commit, version, source); an app without a chart or commit is absent from those."""
    return {
        "artifacts": {
            app: {
                "tag": a.tag,
                "version": a.tag,
                "digest": a.digest,
                "repository": a.repository,
                "source": a.source,
            }
            for app, a in images.items()
        },
        "charts": {
            app: {"version": c.version, "digest": c.digest or "", "source": c.source}
            for app, c in charts.items()
        },
        "commits": {
            app: {"commit": c.commit, "version": c.version, "source": c.source}
            for app, c in commits.items()
        },
    }
