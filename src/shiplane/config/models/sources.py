"""`sources`: artifact sources Shiplane watches to assemble releases by itself.

Each source is exactly one kind, `image`, `chart` or `git` (the plugins of
`sources/plugins.py` register with `SOURCE_SCHEMAS[kind]`), and names the apps it feeds.
The registry host a source names is the only host it ever talks to (docs/sources.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StrictBool, StrictStr, model_validator

from shiplane.config import values
from shiplane.config.models.base import ConfigModel, Duration, Ref, Text
from shiplane.config.models.notifications import EnvVarName
from shiplane.domain.semver import ConstraintError, parse_constraint


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def _check_constraint(value: str) -> str:
    try:
        parse_constraint(value)
    except ConstraintError as exc:
        raise ValueError(str(exc)) from None
    return value


Regex = Annotated[StrictStr, AfterValidator(_check_regex)]
SemverConstraint = Annotated[StrictStr, AfterValidator(_check_constraint)]


class RegistryCredentials(ConfigModel):
    """Where the registry's credentials come from: exactly one of `dockerConfig`, `file`
    or `env`. Secrets are read when used and never logged or shown by the API."""

    docker_config: StrictStr | None = None
    """A docker `config.json` (`auths.<host>.auth`, or `username`/`password`); `~` expands."""
    file: StrictStr | None = None
    """A file holding `username:password` on its first line (a bare token: `:token`)."""
    env: EnvVarName | None = None
    """An environment variable holding `username:password`."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("docker_config", "file", "env") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("credentials need exactly one of: dockerConfig, file, env")
        return self


class RegistryAccess(ConfigModel):
    """How to reach a registry: credentials, TLS and the request budget."""

    credentials: RegistryCredentials | None = None
    """Anonymous when absent."""
    ca_file: StrictStr | None = None
    """A PEM file of CA certificates to trust for this registry (in addition to none:
    the system store is not used when this is given)."""
    insecure: StrictBool = False
    """Talk plain HTTP (a registry on loopback in tests or a lab only)."""
    rate_limit: float = Field(default=20.0, gt=0)
    """Requests per second to this registry at most (shared by every source on it)."""


class ImageSourceConfig(RegistryAccess):
    """An OCI image repository."""

    repository: Annotated[StrictStr, AfterValidator(values.check_image_repository)]
    """The repository with its registry host, e.g. `registry.example/shop/web`."""
    select: Literal["semver", "lexical", "newest-build", "digest"] = "semver"
    """How a tag is chosen: highest semantic version, highest in lexical order, built
    last, or one mutable tag followed by digest."""
    constraint: StrictStr | None = None
    """`semver`: a constraint such as `>=1.2 <2` or `^1.4` (any version when absent);
    `digest`: the mutable tag to follow (required)."""
    strict_semver: StrictBool = True
    """`semver`: only full `X.Y.Z` versions; off, `1.2` reads as 1.2.0."""
    allow_tags: tuple[Regex, ...] = ()
    """Only tags matching one of these regular expressions are considered."""
    ignore_tags: tuple[Regex, ...] = (r"\.sig$", r"\.att$", r"\.sbom$")
    """Tags matching any of these are skipped (cosign signatures etc. by default)."""
    platform: StrictStr | None = None
    """`os/arch[/variant]`: the image of that platform when a tag is a multi-platform
    index (the index digest otherwise)."""
    discovery_limit: int = Field(default=20, ge=1, le=1000)
    """At most this many candidate tags are considered (and fetched, for newest-build)."""

    @model_validator(mode="after")
    def _constraint_fits(self) -> Self:
        if self.select == "digest" and not self.constraint:
            raise ValueError("select: digest needs 'constraint': the mutable tag to follow")
        if self.select == "semver" and self.constraint:
            _check_constraint(self.constraint)
        if self.platform is not None and not re.fullmatch(
            r"[a-z0-9]+/[a-z0-9]+(/\w+)?", self.platform
        ):
            raise ValueError(f"platform {self.platform!r} is not os/arch[/variant]")
        return self

    @property
    def host(self) -> str:
        return split_repository(self.repository)[0]

    @property
    def path(self) -> str:
        return split_repository(self.repository)[1]


class ChartSourceConfig(RegistryAccess):
    """A Helm chart: an `https://` repository's `index.yaml`, or an `oci://` repository."""

    repository: Annotated[StrictStr, AfterValidator(values.check_chart_repository)]
    """`https://charts.example/stable` or `oci://registry.example/charts`."""
    name: Text
    """The chart's name."""
    constraint: SemverConstraint | None = None
    """A semver constraint on the chart version (any version when absent)."""


class GitSourceConfig(ConfigModel):
    """New commits on a branch, or new tags, in a git repository (config-only changes)."""

    url: Text
    """The repository URL (`https://`, `ssh://`, `git@host:path` or a local path)."""
    branch: StrictStr | None = None
    """Follow this branch's head (the default: `main`)."""
    tags: Regex | None = None
    """Follow the newest tag matching this regular expression instead of a branch
    (semver order when the tags read as versions, lexical otherwise)."""

    @model_validator(mode="after")
    def _branch_or_tags(self) -> Self:
        if self.branch is not None and self.tags is not None:
            raise ValueError("a git source follows a 'branch' or 'tags', not both")
        return self


SourceKind = Literal["image", "chart", "git"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("image", "chart", "git")


class SourceConfig(ConfigModel):
    """An artifact source: exactly one of image, chart or git, and the apps it feeds."""

    image: ImageSourceConfig | None = None
    """An OCI image repository."""
    chart: ChartSourceConfig | None = None
    """A Helm chart repository."""
    git: GitSourceConfig | None = None
    """A git repository's branch or tags."""
    apps: tuple[Ref, ...]
    """The apps whose releases this source's artifact goes into (an image source's
    repository must be one of each app's `images`)."""
    interval: Duration = Field(default=300, ge=5, json_schema_extra={"default": "5m"})
    """Time between two polls (jittered by up to 10%); webhooks refresh sooner."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        kinds = [k for k in SOURCE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = f", found: {', '.join(kinds)}" if kinds else ""
            raise ValueError("a source needs exactly one of: image, chart, git" + found)
        if not self.apps:
            raise ValueError("a source needs at least one app in 'apps'")
        return self

    @property
    def kind(self) -> SourceKind:
        return next(k for k in SOURCE_KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> ConfigModel:
        section = getattr(self, self.kind)
        assert isinstance(section, ConfigModel)
        return section


SOURCE_SCHEMAS: dict[str, type[ConfigModel]] = {
    "image": ImageSourceConfig,
    "chart": ChartSourceConfig,
    "git": GitSourceConfig,
}
"""The schema of each source kind (what `sources.plugins.SOURCES` registers with)."""


def split_repository(repository: str) -> tuple[str, str]:
    """(registry host, path) of an image repository; Docker Hub when no host is named
    (`nginx` -> docker.io, library/nginx)."""
    first, sep, rest = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower(), rest
    path = repository if sep else f"library/{repository}"
    return "docker.io", path
