"""Records returned by the store: frozen pydantic models, detached from any session.

They are what the API serializes, so their fields are the wire shape too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, computed_field

from shiplane.domain.releases import ReleaseInfo
from shiplane.domain.roles import Role

T = TypeVar("T")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ArtifactRecord(_Record):
    app: str
    image: str  # registry/repository, without tag or digest
    tag: str | None
    digest: str | None  # as given by the creator ("sha256:...")
    resolved_digest: str | None  # filled in by artifact discovery for tag-only images
    ref: str  # the canonical reference that the release id hashes

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unresolved(self) -> bool:
        """No digest is known: the release deploys a mutable tag (`releases.digests`)."""
        return self.digest is None and self.resolved_digest is None


class ReleaseRecord(_Record):
    id: str
    alias: str
    artifacts: list[ArtifactRecord]  # sorted by app
    labels: dict[str, str]
    creator: str
    created_at: datetime
    charts: dict[str, str] = {}
    """App -> chart version the release deploys (`VERSION[@sha256:...]`)."""
    commits: dict[str, str] = {}
    """App -> config commit whose manifests the release deploys."""

    @property
    def apps(self) -> list[str]:
        return [a.app for a in self.artifacts]

    def info(self) -> ReleaseInfo:
        """The release as gates and checks see it (`shiplane.domain.releases.ReleaseInfo`)."""
        return ReleaseInfo(
            id=self.id,
            artifacts={a.app: a.ref for a in self.artifacts},
            creator=self.creator,
            labels=dict(self.labels),
            alias=self.alias,
            charts=dict(self.charts),
            commits=dict(self.commits),
        )


class AuditRecord(_Record):
    seq: int
    time: datetime
    actor: str
    action: str
    subject: str
    app: str | None
    environment: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ChainVerification(_Record):
    ok: bool
    checked: int  # events examined (up to and including the first bad one)
    first_bad_seq: int | None
    reason: str | None


class TokenRecord(_Record):
    id: str
    name: str
    role: Role
    environments: list[str]  # empty: all environments
    groups: list[str] = []  # approver groups (approval policies name groups)
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    # Tokens minted by single sign-on (docs/sso.md): the provider identity, the role in
    # environments where it is lower than `role` (`*`: every other), and the end.
    subject: str | None = None
    environment_roles: dict[str, Role] = {}
    expires_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class MatrixCell(_Record):
    app: str
    environment: str
    release_id: str | None
    release_alias: str | None
    git_commit: str | None
    sync_status: str | None
    health: str | None
    health_reason: str | None = None
    sync_detail: list[dict[str, Any]] | None = None  # drifted fields when OutOfSync
    updated_at: datetime | None
    # Removed from git with its objects left in the cluster (sync_status "Orphaned").
    orphaned: bool = False
    orphaned_reason: str | None = None
    # The app's artifact in this release has no digest: it deploys a mutable tag.
    unresolved: bool = False


class DeploymentRecord(_Record):
    """What one (environment, app) runs now."""

    environment: str
    app: str
    release_id: str | None
    git_commit: str | None
    sync_status: str | None
    health: str | None
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None


class DeployStep(_Record):
    """One recorded step of a deploy run (render, dry-run, push, apply, prune, health)."""

    name: str
    outcome: str  # running | ok | failed | skipped
    started_at: datetime
    finished_at: datetime | None = None
    detail: str | None = None


class DeployRunRecord(_Record):
    id: str
    group_id: str
    environment: str
    app: str
    kind: str
    status: str
    release_id: str | None
    git_commit: str | None
    actor: str
    steps: list[DeployStep]
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    replica: str | None = None  # the `shiplane serve` replica that ran it


class SourceStateRecord(_Record):
    """What an artifact source last found, its health and its next poll."""

    name: str
    kind: str
    version: str | None
    digest: str | None
    artifact: str | None  # the image reference a release records (`repo:tag@sha256:...`)
    healthy: bool
    reason: str | None  # why the last look failed
    assembly: str | None  # why the last change assembled no release (None: it did)
    checked_at: datetime | None
    changed_at: datetime | None
    next_poll_at: datetime | None
    last_release: str | None
