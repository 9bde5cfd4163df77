"""`apps`: deployable microservices, their artifact sources and manifests."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from shiplane.config import values
from shiplane.config.models.base import (
    ConfigModel,
    Ref,
    Text,
)
from shiplane.config.models.strategies import StrategyConfig


class ChartSource(ConfigModel):
    """A Helm chart released together with the app's images."""

    repository: Annotated[StrictStr, AfterValidator(values.check_chart_repository)]
    """Chart repository: `oci://registry/path` or an `https://` Helm repository."""
    name: Text
    """Chart name in that repository."""


class ManifestSource(ConfigModel):
    """Where the app's base manifests live in the GitOps repository, and how to render them."""

    path: Annotated[StrictStr, AfterValidator(values.check_repo_path)]
    """Directory relative to the repository root, e.g. `apps/checkout`."""
    render: Literal["plain", "kustomize", "helm"] = "plain"
    """`plain` YAML files, a `kustomize` base, or a `helm` chart."""


class AppConfig(ConfigModel):
    """A deployable microservice."""

    images: tuple[
        Annotated[
            StrictStr,
            AfterValidator(values.check_image_repository),
            WithJsonSchema({"type": "string", "pattern": values.IMAGE_REPOSITORY_PATTERN}),
        ],
        ...,
    ] = ()
    """Image repositories (no tag, no digest) whose versions make up a release."""
    chart: ChartSource | None = None
    """A Helm chart whose version is part of a release."""
    manifests: ManifestSource
    """The manifest source in the GitOps repository."""
    depends_on: tuple[Ref, ...] = ()
    """Apps applied before this one when released together."""
    immutable_field_policy: Literal["recreate", "fail"] = "fail"
    """When a change touches an immutable field: delete and re-create, or fail."""
    strategies: dict[Ref, StrategyConfig] = {}
    """The strategy of this app per environment name, overriding the environment's
    `strategy` (docs/strategies.md)."""

    @model_validator(mode="after")
    def _has_artifacts(self) -> Self:
        if not self.images and self.chart is None:
            raise ValueError("an app needs at least one artifact source: 'images' or 'chart'")
        return self
