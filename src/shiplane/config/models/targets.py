"""`deploy`: which deploy target brings an environment's pin commit to its cluster
(docs/handoff.md).

`via: shiplane` (the default) is Shiplane's own sync engine. `via: flux` hands the commit
to the Flux that already runs in the environment's cluster, `via: argocd` to Argo CD; the
section named like the target (`deploy.flux`, `deploy.argocd`) says which of the agent's
objects own which app. One model per target; `targets` registers each plugin with its
model, so what `shiplane.yaml` accepts and what a target runs with are one definition.

    deploy:
      via: flux
      flux:
        gitRepository: flux-system/shop          # the source every app's object reads
        kustomization: flux-system/shop-staging  # the default owner of every app
        timeout: 5m
        apps:                                    # per-app owners, where they differ
          payments: {kustomization: flux-system/payments-staging}
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, StrictStr, WithJsonSchema, model_validator

from shiplane.config.models.base import ConfigModel, Duration, Ref
from shiplane.domain.suggest import describe

_DNS = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"
OBJECT_NAME_PATTERN = rf"^{_DNS}/{_DNS}$"
_OBJECT_NAME = re.compile(OBJECT_NAME_PATTERN)


def _check_object_name(value: str) -> str:
    if not _OBJECT_NAME.match(value):
        raise ValueError(
            f"{describe(value)} is not `namespace/name` of a Kubernetes object "
            "(lowercase letters, digits, '-' and '.')"
        )
    return value


ObjectName = Annotated[
    StrictStr,
    AfterValidator(_check_object_name),
    WithJsonSchema({"type": "string", "pattern": OBJECT_NAME_PATTERN}),
]
"""`namespace/name` of an object in the environment's cluster."""


def split_object_name(value: str) -> tuple[str, str]:
    """`flux-system/shop` -> ("flux-system", "shop")."""
    namespace, _, name = value.partition("/")
    return namespace, name


class ShiplaneTargetConfig(ConfigModel):
    """Shiplane's own sync engine: render, dry-run, apply, prune, health (no settings)."""


class FluxAppOwner(ConfigModel):
    """The Flux objects of one app, where they differ from the environment's."""

    git_repository: ObjectName | None = None
    """The GitRepository the app's Kustomization reads (default: the environment's)."""
    kustomization: ObjectName | None = None
    """The Kustomization that applies the app (default: the environment's)."""


class FluxTargetConfig(ConfigModel):
    """Flux's source-controller and kustomize-controller apply the pin commit."""

    git_repository: ObjectName
    """`namespace/name` of the GitRepository that follows the GitOps repository's branch."""
    kustomization: ObjectName | None = None
    """`namespace/name` of the Kustomization that applies every app (unless `apps` names
    another for an app). Its `spec.path` is the app's rendered directory
    (`./rendered/<env>/<app>`) when it applies one app."""
    apps: dict[Ref, FluxAppOwner] = {}
    """Per app, the objects that own it where they differ from the environment's."""
    timeout: Duration = Field(default=300, ge=1, json_schema_extra={"default": "5m"})
    """How long a promotion waits for the Kustomization to be Ready at its commit."""

    @model_validator(mode="after")
    def _every_app_owned(self) -> Self:
        if self.kustomization is None and not self.apps:
            raise ValueError("name a `kustomization` (or one per app under `apps`)")
        return self

    def owner(self, app: str) -> tuple[str, str | None]:
        """(gitRepository, kustomization) of `app`; the kustomization is None when neither
        the app nor the environment names one."""
        override = self.apps.get(app, FluxAppOwner())
        return (
            override.git_repository or self.git_repository,
            override.kustomization or self.kustomization,
        )


class ArgoCDAppOwner(ConfigModel):
    """The Argo CD Application of one app, where it differs from the environment's."""

    application: ObjectName
    """`namespace/name` of the Application that syncs the app."""


class ArgoCDTargetConfig(ConfigModel):
    """Argo CD's application controller syncs the pin commit (docs/handoff.md)."""

    application: ObjectName | None = None
    """`namespace/name` of the Application that syncs every app (unless `apps` names
    another for an app)."""
    apps: dict[Ref, ArgoCDAppOwner] = {}
    """Per app, the Application that owns it where it differs from the environment's."""
    timeout: Duration = Field(default=300, ge=1, json_schema_extra={"default": "5m"})
    """How long a promotion waits for the Application to be Synced and Healthy."""

    @model_validator(mode="after")
    def _every_app_owned(self) -> Self:
        if self.application is None and not self.apps:
            raise ValueError("name an `application` (or one per app under `apps`)")
        return self


TargetKind = Literal["shiplane", "flux", "argocd"]
TARGET_KINDS: tuple[TargetKind, ...] = ("shiplane", "flux", "argocd")

TARGET_SCHEMAS: dict[str, type[ConfigModel]] = {
    "shiplane": ShiplaneTargetConfig,
    "flux": FluxTargetConfig,
    "argocd": ArgoCDTargetConfig,
}
"""The schema of each deploy target (what `targets` registers each plugin with)."""


class DeployConfig(ConfigModel):
    """Which deploy target brings the pin commit to the cluster, and its settings."""

    via: TargetKind = "shiplane"
    """`shiplane` (Shiplane's own sync engine, the default), `flux` or `argocd`."""
    flux: FluxTargetConfig | None = None
    """With `via: flux`: the Flux objects that own the apps."""
    argocd: ArgoCDTargetConfig | None = None
    """With `via: argocd`: the Argo CD Applications that own the apps."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str):  # `deploy: shiplane`
            return {"via": data}
        return data

    @model_validator(mode="after")
    def _section_of_via(self) -> Self:
        for kind in ("flux", "argocd"):
            given = getattr(self, kind) is not None
            if kind == self.via and not given:
                raise ValueError(f"`via: {kind}` needs a `{kind}` section naming its objects")
            if kind != self.via and given:
                raise ValueError(f"a `{kind}` section is used only with `via: {kind}`")
        return self

    @property
    def spec(self) -> ConfigModel:
        """The section of the target in force (an empty one for `shiplane`)."""
        section = {"flux": self.flux, "argocd": self.argocd}.get(self.via)
        return section if section is not None else ShiplaneTargetConfig()

    @property
    def hands_off(self) -> bool:
        """True when an agent, not Shiplane, applies the commit."""
        return self.via != "shiplane"


SHIPLANE_DEPLOY = DeployConfig()
"""The default: Shiplane's own sync engine."""
