"""`environments`: the nodes of the environment graph and their policies."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from shiplane.config import values
from shiplane.config.models.base import (
    ConfigModel,
    Duration,
    Ref,
    Text,
    number,
)
from shiplane.config.models.strategies import ROLLING, StrategyConfig
from shiplane.config.models.targets import SHIPLANE_DEPLOY, DeployConfig
from shiplane.domain.suggest import describe


class AfterSpec(ConfigModel):
    """Upstream environments: a list (all must succeed), `{all: [...]}` or `{any: [...]}`."""

    all_: tuple[Ref, ...] | None = Field(default=None, alias="all")
    """Every one of these environments must have verified the release."""
    any_: tuple[Ref, ...] | None = Field(default=None, alias="any")
    """At least one of these environments must have verified the release."""

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: object) -> object:
        if isinstance(data, list | tuple):
            return {"all": list(data)}
        if not isinstance(data, dict):
            raise ValueError(
                "expected a list of environments, or a mapping with 'all' or 'any', "
                f"got {describe(data)}"
            )
        return data

    @model_validator(mode="after")
    def _all_or_any(self) -> Self:
        if self.all_ is not None and self.any_ is not None:
            raise ValueError("use either 'all' or 'any', not both")
        return self

    @property
    def mode(self) -> Literal["all", "any"]:
        return "any" if self.any_ is not None else "all"

    @property
    def environments(self) -> tuple[str, ...]:
        return self.any_ if self.any_ is not None else (self.all_ or ())


class ApprovalPolicy(ConfigModel):
    """Who must approve a promotion into the environment before it deploys."""

    required: StrictInt = Field(default=1, ge=1)
    """Number of distinct approvals needed."""
    groups: tuple[Text, ...] = ()
    """Groups whose members may approve (with `users` also empty: anyone with the approver role)."""
    users: tuple[Text, ...] = ()
    """Users who may approve."""
    allow_requester: StrictBool = False
    """May the person who requested the promotion approve it?"""
    allow_creator: StrictBool = False
    """May the creator of the release approve it?"""
    expiry: Duration = Field(default=86400, json_schema_extra={"default": "24h"})
    """How long an approval stays valid."""
    from_forge: Literal["none", "count", "also"] = "none"
    """Pull-request mode: whether approving reviews of the promotion's pull request on the
    forge count (docs/forges.md, "Forge reviews as approvals"). `none` (the default):
    they are only recorded. `count`: `required` approving reviews by eligible people
    (the named `users`, or anyone the forge lets review when no users are named; never
    the requester or the release's creator unless allowed) replace Shiplane's approval
    gate. `also`: Shiplane's approval gate and the forge's approving reviews are both
    required. Checked when the pull request is merged: merged with fewer, the promotion
    is held (not synced) until they are there, or aborted."""

    @model_validator(mode="after")
    def _satisfiable(self) -> Self:
        if self.from_forge != "none" and self.groups and not self.users:
            raise ValueError(
                f"fromForge: {self.from_forge} counts reviews on the forge, which carry no "
                "groups: name the reviewers in 'users', or name nobody and let the forge's "
                "branch protection say who may approve"
            )
        if self.users and not self.groups and self.required > len(self.users):
            raise ValueError(
                f"{self.required} approvals are required but only {len(self.users)} "
                "users may approve"
            )
        return self


class RollbackPolicy(ConfigModel):
    """What happens when verification fails."""

    on_failure: Literal["auto", "manual"] = "manual"
    """`auto`: roll back to the last verified release; `manual`: stop and wait for a person."""


class FreezePolicy(ConfigModel):
    """How a freeze of this environment behaves."""

    allow_rollback: StrictBool = True
    """Whether rollbacks may still run while the environment is frozen."""


class PrunePolicy(ConfigModel):
    """Deleting objects that are no longer rendered."""

    enabled: StrictBool = True
    """Prune objects of the previous inventory that are no longer rendered, and the objects
    of apps removed from the environment in git (false: they stay, shown as orphaned)."""
    max_fraction: Annotated[float, BeforeValidator(number)] = Field(default=0.5, gt=0, le=1)
    """Refuse a prune that would delete more than this fraction of an app's managed
    objects, or removing apps that hold more than this fraction of the environment's."""


class GitopsPolicy(ConfigModel):
    """How a promotion's pin change reaches the GitOps branch (docs/gitops.md)."""

    mode: Literal["push", "pull-request"] = "push"
    """`push` (the default): Shiplane commits the pin to the branch the cluster follows.
    `pull-request`: it pushes a branch `shiplane/<promotion id>` with the pin change,
    opens a pull request through the project's `forge`, waits for someone to merge it,
    then syncs the cluster to the merge commit (docs/forges.md)."""
    poll_interval: Duration = Field(default=30, ge=1, le=3600, json_schema_extra={"default": "30s"})
    """Pull-request mode: how often the pull request is looked at while the promotion
    waits for its merge (a forge webhook wakes it sooner)."""
    rollback: Literal["direct", "pull-request"] = "direct"
    """Pull-request mode: how rollback promotions reach git. `direct` (the default): the
    rollback commit is pushed to the branch at once, bypassing review (an emergency path:
    a failed release must not wait for a reviewer), and the audit says so.
    `pull-request`: a rollback opens a pull request too and waits for its merge."""


Tier = Literal["development", "testing", "staging", "production"]
"""What an environment is for; `production` environments make up the DORA figures of the
project (docs/insights.md)."""


class EnvironmentConfig(ConfigModel):
    """A node of the environment graph: where it deploys and the policy for getting there."""

    cluster: Ref
    """Name of a cluster in `clusters`."""
    namespace: Annotated[StrictStr, AfterValidator(values.check_namespace)]
    """Kubernetes namespace the apps are deployed into."""
    after: AfterSpec = AfterSpec()
    """Upstream environments that must have verified a release first."""
    auto_promote: StrictBool = False
    """Promote automatically once every gate passes."""
    soak: Duration | None = Field(default=None, json_schema_extra={"default": None})
    """How long a release must have been verified upstream (`after`) before it may come here."""
    approvals: ApprovalPolicy | None = None
    """Approvals needed before deploying; none when omitted."""
    windows: tuple[Ref, ...] = ()
    """Names of `windows` that allow (or deny) deploying."""
    verify: tuple[Ref, ...] = ()
    """Names of `checks` run after deploying."""
    rollback: RollbackPolicy = RollbackPolicy()
    """What to do when verification fails."""
    freeze: FreezePolicy = FreezePolicy()
    """How a freeze behaves."""
    self_heal: StrictBool = False
    """Re-apply desired state when live objects drift."""
    prune: PrunePolicy = PrunePolicy()
    """Whether and how far objects no longer rendered are deleted."""
    strategy: StrategyConfig = Field(default=ROLLING, json_schema_extra={"default": "rolling"})
    """How the cluster moves to the pinned release: `rolling` (the default), `canary` or
    `blueGreen` (docs/strategies.md); `apps.<app>.strategies.<env>` overrides it."""
    gitops: GitopsPolicy = GitopsPolicy()
    """How the pin change reaches git: pushed to the branch (`mode: push`, the default)
    or through a reviewed pull request (`mode: pull-request`, needs `forge`)."""
    deploy: DeployConfig = Field(
        default=SHIPLANE_DEPLOY, json_schema_extra={"default": {"via": "shiplane"}}
    )
    """Which deploy target brings the pin commit to the cluster: Shiplane's own sync
    engine (`via: shiplane`, the default), Flux (`via: flux`) or Argo CD (`via: argocd`);
    see docs/handoff.md."""
    tier: Tier = "development"
    """What the environment is for: `development`, `testing`, `staging` or `production`.
    The project's DORA figures (insights) are those of its `production` environments."""

    @model_validator(mode="after")
    def _forge_approvals_need_pull_requests(self) -> Self:
        if (
            self.approvals is not None
            and self.approvals.from_forge != "none"
            and self.gitops.mode != "pull-request"
        ):
            raise ValueError(
                f"approvals.fromForge: {self.approvals.from_forge} counts reviews of the "
                "promotion's pull request: it needs gitops.mode: pull-request"
            )
        return self
