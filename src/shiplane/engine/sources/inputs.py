"""What each app's release contents may come from, read from the sources' recorded
states and the newest release of each app (domain/assembly.py chooses among them).

- images: the image sources that feed the app (newest change first);
- chart versions: the chart sources that feed the app and watch its own chart (the
  same `repository` and `name` as `apps.<app>.chart`; a chart source for another chart
  gives the app no version);
- config commits: the git sources that feed the app;
- the fallback: the newest release that contains the app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from shiplane.config.models import (
    ChartSourceConfig,
    GitSourceConfig,
    ImageSourceConfig,
    ProjectConfig,
)
from shiplane.domain.assembly import (
    AppInputs,
    FoundArtifact,
    FoundChart,
    FoundCommit,
    PreviousContents,
)
from shiplane.domain.clock import ensure_utc
from shiplane.domain.release_contents import parse_chart
from shiplane.domain.releases import ReleaseValidationError
from shiplane.store.records import ReleaseRecord, SourceStateRecord

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
PREVIOUS_PREFIX = "release/"
"""The `source` of contents taken from an earlier release, as the criterion sees it."""


def feeds(project: ProjectConfig) -> dict[str, list[str]]:
    """Source -> the apps whose releases its finds go into (a chart source: the apps
    whose `chart` it watches)."""
    return {
        name: [app for app in config.apps if _feeds(project, config.spec, app)]
        for name, config in project.sources.items()
    }


def _feeds(project: ProjectConfig, spec: object, app: str) -> bool:
    if not isinstance(spec, ChartSourceConfig):
        return True
    chart = project.apps[app].chart if app in project.apps else None
    return (
        chart is not None
        and chart.name == spec.name
        and chart.repository.rstrip("/") == spec.repository.rstrip("/")
    )


def app_inputs(
    project: ProjectConfig,
    states: Mapping[str, SourceStateRecord],
    apps: Sequence[str],
    previous: Mapping[str, ReleaseRecord],
    config_commits: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, AppInputs]:
    """`config_commits`: (git source, app) -> the commit to record (the last change of
    the app's manifests at what the source found), or why there is none (a text that is
    not a sha); absent: the commit the source found."""
    fed = feeds(project)
    images: dict[str, list[FoundArtifact]] = {app: [] for app in apps}
    charts: dict[str, list[FoundChart]] = {app: [] for app in apps}
    commits: dict[str, list[FoundCommit]] = {app: [] for app in apps}
    missing: dict[tuple[str, str], str] = {}  # (kind, app) -> why its sources found nothing
    for name, config in project.sources.items():
        spec, state = config.spec, states.get(name)
        for app in fed.get(name, ()):
            if app not in images:
                continue
            found = state is not None and state.digest is not None and state.version is not None
            if not found or state is None:
                why = state.reason if state and state.reason else "nothing found yet"
                missing.setdefault((config.kind, app), f"source {name}: {why}")
                continue
            version, digest = state.version or "", state.digest or ""
            if isinstance(spec, ImageSourceConfig) and state.artifact is not None:
                images[app].append(
                    FoundArtifact(name, spec.repository, version, digest, state.artifact)
                )
            elif isinstance(spec, ChartSourceConfig):
                charts[app].append(FoundChart(name, version, _chart_digest(digest)))
            elif isinstance(spec, GitSourceConfig):
                commit = (config_commits or {}).get((name, app), digest.lower())
                if not _SHA.fullmatch(commit):
                    missing.setdefault(("git", app), f"source {name}: {commit}")
                    continue
                commits[app].append(FoundCommit(name, commit, version))
    newest_first = lambda item: _changed_at(states, item.source)  # noqa: E731
    return {
        app: AppInputs(
            images=sorted(images[app], key=newest_first, reverse=True),
            image_missing=missing.get(("image", app)),
            charts=sorted(charts[app], key=newest_first, reverse=True),
            chart_missing=missing.get(("chart", app)),
            commits=sorted(commits[app], key=newest_first, reverse=True),
            commit_missing=missing.get(("git", app)),
            previous=_previous(previous.get(app), app),
        )
        for app in apps
    }


def _chart_digest(digest: str) -> str | None:
    """`sha256:...`: an index.yaml digest is bare hex; anything else is left out."""
    try:
        return parse_chart(f"0.0.0@{digest}").digest
    except ReleaseValidationError:
        return None


def _previous(release: ReleaseRecord | None, app: str) -> PreviousContents | None:
    if release is None:
        return None
    artifact = next((a for a in release.artifacts if a.app == app), None)
    if artifact is None:
        return None
    source = PREVIOUS_PREFIX + release.id
    chart = None
    if app in release.charts:
        pinned = parse_chart(release.charts[app], app=app)
        chart = FoundChart(source, pinned.version, pinned.digest)
    commit = release.commits.get(app)
    return PreviousContents(
        release.id,
        FoundArtifact(
            source,
            artifact.image,
            artifact.tag or "",
            artifact.digest or artifact.resolved_digest or "",
            artifact.ref,
        ),
        chart,
        FoundCommit(source, commit) if commit else None,
    )


def _changed_at(states: Mapping[str, SourceStateRecord], name: str) -> datetime:
    state = states.get(name)
    if state is None or state.changed_at is None:
        return datetime.min.replace(tzinfo=UTC)
    return ensure_utc(state.changed_at)
