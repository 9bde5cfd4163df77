"""The whole file: `ProjectConfig`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import (
    field_validator,
)

from shiplane.config.graph import topological_order
from shiplane.config.models.apps import AppConfig
from shiplane.config.models.base import (
    ConfigModel,
    Expression,
    Name,
)
from shiplane.config.models.checks import CheckConfig
from shiplane.config.models.clusters import ClusterConfig
from shiplane.config.models.conditions import ConditionConfig
from shiplane.config.models.environments import EnvironmentConfig
from shiplane.config.models.forge import ForgeConfig
from shiplane.config.models.notifications import NotificationChannel
from shiplane.config.models.receivers import ReceiverConfig
from shiplane.config.models.sources import SourceConfig
from shiplane.config.models.sso import SsoConfig
from shiplane.config.models.strategies import ROLLING, StrategyConfig
from shiplane.config.models.windows import WindowConfig
from shiplane.config.release_fit import check_release_fits
from shiplane.domain.errors import NotFoundError
from shiplane.domain.suggest import closest


class UnknownNameError(NotFoundError, KeyError):
    """An environment or app that shiplane.yaml does not define (a KeyError too, for
    callers that look names up in the project's mappings)."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        names = list(known)
        match = closest(name, names)
        if match is not None:
            hint = f"did you mean '{match}'?"
        elif names:
            hint = f"defined {kind}s: " + ", ".join(names)
        else:
            hint = f"no {kind}s are defined"
        super().__init__(
            f"{kind} {name!r} is not defined", hint=hint, details={"kind": kind, "name": name}
        )
        self.kind = kind
        self.name = name


class ReleasePolicy(ConfigModel):
    """`releases`: what a release may name."""

    allow_image_overrides: bool = False
    """Accept images from repositories other than the app's `images` (refused by default)."""
    assemble: Literal["all", "changed"] = "all"
    """What a source's new artifact assembles: a release of every app fed by a source
    (the newest selected artifact of each), or of the changed app(s) only."""
    criterion: Expression | None = None
    """A CEL expression over `artifacts` (by app: `tag`, `digest`, `repository`,
    `version`, `source`) that an assembled release must satisfy, e.g.
    `artifacts.web.tag == artifacts.api.tag`; a combination it rejects is not assembled."""
    digests: Literal["require", "prefer", "off"] = "off"
    """Releases created through the API or CLI with an image tag: resolve the tag to a
    digest against the registry and refuse what cannot be resolved (`require`), record
    the tag and mark the artifact unresolved when it cannot be (`prefer`), or take the
    tag as given (`off`, the default, as before this setting existed)."""


class ProjectConfig(ConfigModel):
    """A Shiplane project: clusters, the environment graph, apps and policies."""

    api_version: Literal["shiplane/v1alpha1"]
    """Version of this file's format."""
    project: Name
    """Name of the project."""
    clusters: dict[Name, ClusterConfig]
    """Cluster connections by name."""
    environments: dict[Name, EnvironmentConfig]
    """Environments by name; `after` links them into an acyclic graph."""
    apps: dict[Name, AppConfig]
    """Apps by name."""
    checks: dict[Name, CheckConfig] = {}
    """Verification checks by name, used by `environments.*.verify`."""
    windows: dict[Name, WindowConfig] = {}
    """Deployment windows by name, used by `environments.*.windows`."""
    conditions: dict[Name, ConditionConfig] = {}
    """Expression gates by name."""
    notifications: dict[Name, NotificationChannel] = {}
    """Notification channels by name: where promotion events are sent."""
    receivers: dict[Name, ReceiverConfig] = {}
    """Webhook receivers by name: `POST /api/v1/hooks/{name}` refreshes matching sources."""
    forge: ForgeConfig | None = None
    """The forge hosting the GitOps repository (Gitea, GitHub or GitLab): pull requests
    and commit statuses go through its API (docs/forges.md)."""
    releases: ReleasePolicy = ReleasePolicy()
    """What a release may name, how sources assemble them and the digest policy."""
    sources: dict[Name, SourceConfig] = {}
    """Artifact sources by name: image repositories, charts and git refs whose new
    versions become releases by themselves (docs/sources.md)."""
    sso: SsoConfig | None = None
    """Single sign-on through an OpenID Connect provider and its group to role mapping
    (docs/sso.md); None: people sign in with API tokens only."""

    @field_validator("environments", "apps", "clusters", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        # `environments:` left empty reads as null; say what is expected instead of
        # pydantic's generic "valid dictionary".
        if value is None:
            raise ValueError("expected a mapping of names to definitions, got nothing (null)")
        return value

    def environment_order(self) -> list[str]:
        """Environments in promotion order (upstream first; ties keep file order)."""
        names = list(self.environments)
        return topological_order(
            names, {n: e.after.environments for n, e in self.environments.items()}
        )

    def app_order(self) -> list[str]:
        """Apps in apply order (`dependsOn` first; ties keep file order)."""
        return topological_order(list(self.apps), {n: a.depends_on for n, a in self.apps.items()})

    def upstream(self, environment: str) -> tuple[str, ...]:
        """Direct upstream environments of `environment`."""
        return self.environments[environment].after.environments

    def downstream(self, environment: str) -> list[str]:
        """Environments that list `environment` in their `after`."""
        return [n for n, e in self.environments.items() if environment in e.after.environments]

    def strategy_for(self, environment: str, app: str) -> StrategyConfig:
        """The strategy `app` moves to a new release with in `environment`: the app's
        override for it, else the environment's (`rolling` by default)."""
        config = self.apps.get(app)
        override = None if config is None else config.strategies.get(environment)
        if override is not None:
            return override
        env = self.environments.get(environment)
        return ROLLING if env is None else env.strategy

    def require_environment(self, name: str) -> EnvironmentConfig:
        """The environment `name`, or UnknownNameError suggesting the nearest one."""
        try:
            return self.environments[name]
        except KeyError:
            raise UnknownNameError("environment", name, self.environment_order()) from None

    def require_app(self, name: str) -> AppConfig:
        """The app `name`, or UnknownNameError suggesting the nearest one."""
        try:
            return self.apps[name]
        except KeyError:
            raise UnknownNameError("app", name, list(self.apps)) from None

    def require_release_fits(
        self, artifacts: Mapping[str, str], charts: Mapping[str, str] | None = None
    ) -> None:
        """Every app of `artifacts` is defined and its image is one the app deploys, and
        every app of `charts` has a chart; ReleaseMisfitError (invalid input) says which
        and what is allowed."""
        check_release_fits(self, artifacts, charts)

    def require_apps(self, names: Iterable[str]) -> None:
        """Every one of `names` is a defined app; UnknownNameError names the first that is not."""
        for name in names:
            self.require_app(name)
