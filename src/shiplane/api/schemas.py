"""Request and response bodies of the API that are not store records.

Store records (`shiplane.store.records`) are the wire shape of releases, audit events,
tokens and matrix cells; this module adds the request bodies and the few envelopes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shiplane.domain.roles import Role
from shiplane.store.records import MatrixCell, TokenRecord


class Problem(BaseModel):
    """RFC 9457 problem details, returned with `application/problem+json`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this request, readable by a person.")
    instance: str = Field(description="The request path.")
    request_id: str | None = Field(description="The request id, also in the logs.")


class ReleaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    artifacts: dict[str, str] = Field(
        min_length=1,
        max_length=200,
        description="App name -> image reference (`registry/repo:tag`, `...@sha256:...`).",
        examples=[{"checkout": "registry.example/shop/checkout:1.4.2"}],
    )
    charts: dict[str, str] = Field(
        default_factory=dict,
        max_length=200,
        description="App name -> chart version (`1.4.2`, or `1.4.2@sha256:<64 hex>`) for an "
        "app with `chart` in shiplane.yaml; part of the release's identity.",
        examples=[{"checkout": "1.4.2"}],
    )
    commits: dict[str, str] = Field(
        default_factory=dict,
        max_length=200,
        description="App name -> config commit (full sha) whose manifests the release "
        "deploys; part of the release's identity.",
    )
    alias: str | None = Field(
        default=None, max_length=64, description="A readable name; generated when omitted."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, max_length=64, description="Free-form metadata (branch, commit)."
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    environments: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Environments the token is limited to; empty means all.",
    )
    groups: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Groups the token's holder belongs to (approval policies name groups).",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9@._\-]*$",
        description="A readable name; it is the actor in audit events. Generated when omitted.",
    )


class TokenCreated(BaseModel):
    """The new token's record and its plaintext, which is returned this once only."""

    token: str = Field(description="The secret. Store it now: it cannot be shown again.")
    record: TokenRecord


class MatrixOut(BaseModel):
    """The apps x environments matrix: one cell per pair, in config order."""

    project: str | None
    environments: list[str]
    apps: list[str]
    cells: list[MatrixCell]
    pending: list[PendingPromotion] = []
    holds: list[HoldOut] = []
    """(environment, app) pairs that take no auto-promotion until `unhold`."""
    freezes: list[FreezeOut] = []
    """Frozen environments (`*`: the whole project): promotions into them wait."""
    orphans: list[OrphanOut] = []
    """Apps removed from git whose objects were left in the cluster (prune disabled), apps
    no longer defined in shiplane.yaml included (those have no cell)."""
    config: ConfigOut | None = None
    """With shiplane.yaml read from the GitOps repository: the version in force (and one
    refused since, if any); absent otherwise."""


class OrphanOut(BaseModel):
    """An orphaned (environment, app): removed from git, its objects still in the cluster."""

    environment: str
    app: str
    reason: str


class HoldOut(BaseModel):
    """A hold in force: auto-promotion of `app` into `environment` is stopped."""

    environment: str
    app: str
    set_by: str
    set_at: str
    reason: str = ""


class FreezeOut(BaseModel):
    """A freeze in force (`environment` `*` for the whole project)."""

    environment: str
    set_by: str
    set_at: str
    reason: str = ""


class PendingPromotion(BaseModel):
    """A queued or active promotion, shown in its cells with why it waits."""

    id: str
    environment: str
    apps: list[str]
    release_id: str
    state: str
    reason: str
    strategy: dict[str, str] | None = None
    """While a progressive strategy moves it: per app, where it stands (`canary 25%
    (step 2/5: pause until resumed)`)."""


class WhoAmI(BaseModel):
    name: str
    role: Role
    environments: list[str]
    token_id: str
    # Single sign-on: the role in environments where it is lower (`*`: every other).
    environment_roles: dict[str, Role] = {}


class RejectedConfigOut(BaseModel):
    """A shiplane.yaml version that failed validation and was not put in force."""

    commit: str
    at: str
    count: int = Field(description="How many errors there were.")
    errors: list[str] = Field(description="The first errors, as `shiplane validate` prints them.")


class ConfigOut(BaseModel):
    """Which shiplane.yaml is in force, and the last version refused since."""

    source: str = Field(description="`git` (read at a commit of the branch), `file`, or `none`.")
    following: bool = Field(description="Whether new versions at the branch head are applied.")
    branch: str | None = None
    commit: str | None = Field(None, description="The commit the version in force was read at.")
    loaded_at: str | None = None
    rejected: RejectedConfigOut | None = None


class ReadyConfigOut(BaseModel):
    """The configuration part of `/readyz`: a refused shiplane.yaml does not make the
    server unready (the last good version serves on), but shows here."""

    commit: str | None
    rejected_commit: str | None = None
    errors: int = 0
    locations: list[str] = Field(
        [], description="Where the first errors are (file:line:column field; no messages)."
    )
