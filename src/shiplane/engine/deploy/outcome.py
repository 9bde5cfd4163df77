"""What a deploy or sync did, per app: the value callers and the API read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shiplane.domain.health import HealthStatus

if TYPE_CHECKING:
    from shiplane.gitops.commits import Proposal


@dataclass
class AppOutcome:
    app: str
    run_id: str
    objects: int = 0
    changed: int = 0
    skipped: int = 0  # unchanged objects not sent (the dry-run answered the live object)
    pruned: int = 0
    health: str = HealthStatus.UNKNOWN.value
    health_reason: str = ""
    error: str | None = None
    # Removed from the environment in git: what the sync did with its objects.
    removed: str | None = None


@dataclass
class DeployOutcome:
    group_id: str
    environment: str
    kind: str
    release_id: str | None
    git_commit: str | None = None
    commit_created: bool = False
    status: str = "running"
    apps: dict[str, AppOutcome] = field(default_factory=dict)
    proposal: Proposal | None = None
    """Pull-request mode: the branch the pins were pushed to (None: nothing proposed)."""
    manifests: dict[str, str] = field(default_factory=dict)
    """Pull-request mode: per app, what the merge will apply (kinds and names of the
    rendered objects, and how many the cluster does not have yet), from the dry-run."""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def errors(self) -> dict[str, str]:
        """The apps that failed, with why."""
        return {a: o.error for a, o in self.apps.items() if o.error}

    def to_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "environment": self.environment,
            "kind": self.kind,
            "release_id": self.release_id,
            "git_commit": self.git_commit,
            "commit_created": self.commit_created,
            "status": self.status,
            "apps": {name: vars(a) for name, a in self.apps.items()},
        }
