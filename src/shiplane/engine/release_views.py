"""What the release page shows: where a release runs, its timeline across environments,
and how its artifacts differ from another release's. Reads only (the store); the
rendered-manifest half of a release diff is engine/diffs.py `Diffs.between_releases`.

The timeline is built from what is recorded: each promotion's state changes are its
steps named `-> State` (engine/promotions/transitions.py writes one per transition),
so it reads the same after a restart and on any replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.errors import NotFoundError
from shiplane.store import deploys, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord, StepRecord
from shiplane.store.records import ArtifactRecord, DeploymentRecord, ReleaseRecord

TRANSITION_PREFIX = "-> "


@dataclass(frozen=True, slots=True)
class Moment:
    """A promotion entering a state (`Waiting`, `Deploying`, `Succeeded`...) at a time."""

    state: str
    at: datetime
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "at": self.at.isoformat(), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PromotionTimeline:
    promotion: PromotionRecord
    moments: tuple[Moment, ...]  # created first, then each state entered, in order

    def to_json(self) -> dict[str, Any]:
        p = self.promotion
        return {
            "id": p.id,
            "environment": p.environment,
            "apps": list(p.apps),
            "kind": p.kind,
            "trigger": p.trigger,
            "state": p.state,
            "reason": p.reason,
            "requested_by": p.requested_by,
            "created_at": p.created_at.isoformat(),
            "moments": [m.to_json() for m in self.moments],
        }


@dataclass(frozen=True, slots=True)
class ReleaseTimeline:
    release: ReleaseRecord
    running: tuple[DeploymentRecord, ...]  # where it runs now
    environments: tuple[str, ...]  # the project's environments in graph order
    promotions: tuple[PromotionTimeline, ...]  # oldest first

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release.model_dump(mode="json"),
            "running": [d.model_dump(mode="json") for d in self.running],
            "environments": list(self.environments),
            "promotions": [p.to_json() for p in self.promotions],
        }


def moments_of(promotion: PromotionRecord, steps: list[StepRecord]) -> tuple[Moment, ...]:
    """`Created` at creation, then every recorded transition in order."""
    moments = [Moment("Created", promotion.created_at, f"requested by {promotion.requested_by}")]
    for step in steps:
        if step.name.startswith(TRANSITION_PREFIX):
            moments.append(
                Moment(step.name[len(TRANSITION_PREFIX) :], step.started_at, step.detail)
            )
    return tuple(moments)


def get_release_or_404(s: Session, ref: str) -> ReleaseRecord:
    release = releases.get_release(s, ref)
    if release is None:
        raise NotFoundError(f"no release matches {ref!r} (by id, unique id prefix or alias)")
    return release


def release_timeline(project: ProjectConfig | None, s: Session, ref: str) -> ReleaseTimeline:
    """Where release `ref` runs and every promotion of it, in order, with times."""
    release = get_release_or_404(s, ref)
    order = tuple(project.environment_order()) if project is not None else ()
    rank = {env: i for i, env in enumerate(order)}
    # Creation order; promotions of one instant (an auto-promotion created by the
    # verification upstream) in graph order.
    promotions = sorted(
        store.promotions_of_release(s, release.id),
        key=lambda p: (p.created_at, rank.get(p.environment, len(rank)), p.id),
    )
    steps = store.steps_of(s, [p.id for p in promotions])
    return ReleaseTimeline(
        release=release,
        running=tuple(deploys.where_release_runs(s, release.id)),
        environments=order,
        promotions=tuple(PromotionTimeline(p, moments_of(p, steps[p.id])) for p in promotions),
    )


@dataclass(frozen=True, slots=True)
class ArtifactChange:
    """One app's artifact in release `a` and in release `b`."""

    app: str
    a: ArtifactRecord | None
    b: ArtifactRecord | None
    # The app's chart version and config commit in each (None: that release has none).
    chart_a: str | None = None
    chart_b: str | None = None
    commit_a: str | None = None
    commit_b: str | None = None

    @property
    def change(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        same = (
            _identity(self.a) == _identity(self.b)
            and self.chart_a == self.chart_b
            and self.commit_a == self.commit_b
        )
        return "same" if same else "changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "change": self.change,
            "a": self.a.model_dump(mode="json") if self.a else None,
            "b": self.b.model_dump(mode="json") if self.b else None,
            "chart": {"a": self.chart_a, "b": self.chart_b},
            "commit": {"a": self.commit_a, "b": self.commit_b},
        }


def _identity(artifact: ArtifactRecord) -> tuple[str, str]:
    """What a pod would run: the image and its digest (else the reference)."""
    return (artifact.image, artifact.digest or artifact.resolved_digest or artifact.ref)


def artifact_changes(a: ReleaseRecord, b: ReleaseRecord) -> list[ArtifactChange]:
    """Per app of either release, by app name: its artifact (with its chart version and
    config commit) in each and what changed."""
    mine = {x.app: x for x in a.artifacts}
    theirs = {x.app: x for x in b.artifacts}
    return [
        ArtifactChange(
            app,
            mine.get(app),
            theirs.get(app),
            a.charts.get(app),
            b.charts.get(app),
            a.commits.get(app),
            b.commits.get(app),
        )
        for app in sorted(mine | theirs)
    ]


__all__ = [
    "ArtifactChange",
    "Moment",
    "PromotionTimeline",
    "ReleaseTimeline",
    "artifact_changes",
    "get_release_or_404",
    "moments_of",
    "release_timeline",
]
