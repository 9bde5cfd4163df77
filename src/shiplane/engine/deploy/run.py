"""The value every deploy step works on, and the contract of a step.

A deploy or sync is a sequence of steps (render, dry-run, commit, apply, prune, health)
run by `Deployer` in order, each recorded in the run rows as it starts and ends. A step
reads and fills in one `DeployRun` (the plans, the tree, the outcome) instead of taking
the environment, cluster, recorder, outcome and plans as arguments of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shiplane.config.models import EnvironmentConfig, ProjectConfig
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.deploy.known_applied import KnownApplied
from shiplane.engine.deploy.outcome import DeployOutcome
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.recorder import RunRecorder
from shiplane.gitops.renderers.context import PinnedContents
from shiplane.kube.refs import ObjRef

Progress = Callable[[str], None]
# (cluster name, object) -> the live object as a watch cache holds it, or None: unknown.
LiveObjects = Callable[[str, ObjRef], dict[str, Any] | None]
# (environment, app, cluster, objects sent, git commit they came from)
AppliedListener = Callable[
    [str, str, ClusterHandle, list[dict[str, Any]], str | None], Awaitable[None]
]


@dataclass
class DeployRun:
    """One deploy or sync of some apps of one environment, while it runs."""

    environment: str
    env: EnvironmentConfig
    handle: ClusterHandle
    rec: RunRecorder
    outcome: DeployOutcome
    plans: list[AppPlan]
    progress: Progress | None = None
    # Told after each app's apply (drift watches what was sent); None: nobody listens.
    on_applied: AppliedListener | None = None
    # Cached live objects (the drift watch caches); None: no cache to ask.
    live_objects: LiveObjects | None = None
    # What this process sent and saw in effect (known_applied.py); None: not kept.
    known: KnownApplied | None = None
    # The exported git tree the next render reads: HEAD before the commit, the commit
    # after it.
    tree: Path | None = None
    head: str | None = None  # the commit `tree` was exported from
    # The commit's tree is the one rendered with the pins before it (see commit.py).
    commit_is_validated_tree: bool = False
    # Apps removed from git (a sync of the whole environment): their run rows record
    # only step `remove` (removal.py), not the steps of the synced apps.
    removed: tuple[str, ...] = ()
    # The project in force when the run started (apply orders apps by its dependsOn).
    project: ProjectConfig | None = None
    # Fetches a pinned chart version or config commit for the render; None: none can be.
    contents: PinnedContents | None = None

    @property
    def kind(self) -> str:
        return self.rec.kind

    @property
    def apps(self) -> list[str]:
        return [p.app for p in self.plans]

    @property
    def stepped_apps(self) -> list[str]:
        """The apps whose run rows record the sequence's steps."""
        return [a for a in self.rec.apps if a not in self.removed]

    def say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)


@dataclass
class StepReport:
    """How a step ended, for its run-step row and (with `audit`) one audit event."""

    outcome: str = "ok"  # ok | failed (the apps' errors are in the run's outcome)
    detail: str | dict[str, str] | None = None
    audit: dict[str, Any] | None = None


class StepFailed(Exception):
    """Raised by a step: these apps failed, with why; the runner records it and stops."""

    def __init__(self, errors: Mapping[str, str], step: str | None = None) -> None:
        self.errors = dict(errors)
        self.step = step  # default: the step that raised it
        super().__init__(str(self))

    def __str__(self) -> str:
        return "; ".join(f"{app}: {error}" for app, error in self.errors.items())


class Step(Protocol):
    """One recorded step. `run` must be safe to repeat after a crash (DESIGN.md,
    Principles 2), which is what makes a deploy resumable: a retried deploy runs the
    sequence again and each step recognises what is already done (the commit by its
    trailer, apply by server-side apply, prune by the inventory)."""

    name: str
    recorded: bool  # False: not a row of the run (reads nothing the user must see)
    # (optional) `writes_first = True`: the step's first act is a store write, which
    # then carries the step's start record instead of a transaction of its own.

    async def run(self, run: DeployRun) -> StepReport: ...
