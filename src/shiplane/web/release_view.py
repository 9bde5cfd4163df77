"""What the release page shows, read in one session with a fixed number of queries: the
release (artifacts with digests), where it runs, its timeline across environments
(engine/release_views.py), the artifact source that assembled it (web/sources_view.py),
and, when asked, how another release differs (artifacts here;
rendered manifests through `Diffs.between_releases`, secrets masked there)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.engine.diffs import ObjectDiff
from shiplane.engine.release_views import (
    ArtifactChange,
    ReleaseTimeline,
    artifact_changes,
    release_timeline,
)
from shiplane.store import releases
from shiplane.store.records import ReleaseRecord
from shiplane.web.sources_view import assembled_by


@dataclass
class ReleaseDiff:
    """The diff form's values and what they gave; `errors` per field."""

    against: str = ""
    environment: str = ""
    other: ReleaseRecord | None = None
    artifacts: list[ArtifactChange] = field(default_factory=list)
    manifests: dict[str, list[ObjectDiff]] | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReleasePage:
    timeline: ReleaseTimeline
    environments: tuple[str, ...]  # the project's, for the promote and diff forms
    diff: ReleaseDiff
    source: str | None = None  # the artifact source that assembled it (creator source/NAME)
    source_defined: bool = False  # that source is still in shiplane.yaml (its entry links)

    @property
    def release(self) -> ReleaseRecord:
        return self.timeline.release


def release_page(
    project: ProjectConfig | None, s: Session, ref: str, diff: ReleaseDiff
) -> ReleasePage:
    """The page of release `ref` (NotFoundError when none matches); the artifact half of
    `diff` filled in when it names another release."""
    timeline = release_timeline(project, s, ref)
    environments = tuple(project.environment_order()) if project is not None else ()
    if diff.environment and diff.environment not in environments:
        diff.errors["environment"] = f"environment: unknown environment {diff.environment!r}"
    if diff.against:
        other = releases.get_release(s, diff.against)
        if other is None:
            diff.errors["against"] = (
                f"against: no release matches {diff.against[:60]!r} "
                "(by id, unique id prefix or alias)"
            )
        else:
            diff.other = other
            diff.artifacts = artifact_changes(timeline.release, other)
    source = assembled_by(timeline.release)
    defined = source is not None and project is not None and source in project.sources
    return ReleasePage(timeline, environments, diff, source, defined)


__all__ = ["ReleaseDiff", "ReleasePage", "release_page"]
