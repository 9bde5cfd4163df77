"""`forge`: the git forge that hosts the GitOps repository (Gitea, GitHub or GitLab),
through which Shiplane opens pull requests and posts commit statuses (docs/forges.md).

Exactly one of `gitea`, `github`, `gitlab`, each with its own schema (the `forge`
driver of that name in `shiplane.forge` validates against it). The API token is never
written in the file: it comes from an environment variable of the server (`tokenEnv`)
or a file next to it (`tokenFile`), read when a driver is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, get_args

from pydantic import Field, StrictStr, model_validator

from shiplane.config.models.base import ConfigModel, Duration, HttpUrl
from shiplane.config.models.notifications import EnvVarName
from shiplane.config.models.receivers import read_secret

ForgeType = Literal["gitea", "github", "gitlab"]
FORGE_TYPES: tuple[ForgeType, ...] = get_args(ForgeType)


class ForgeAccess(ConfigModel):
    """What every forge needs: where its API is, which repository, and the token."""

    repository: StrictStr = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
    """The GitOps repository on the forge: `owner/name` (GitLab: the project's full path,
    `group/subgroup/name`)."""
    token_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the API token."""
    token_file: StrictStr | None = None
    """Absolute path of a file on the server that holds the API token (surrounding
    whitespace is ignored), e.g. a mounted Kubernetes Secret."""
    timeout: Duration = Field(default=30, ge=1, le=300, json_schema_extra={"default": "30s"})
    """How long one API call may take before it is given up (and retried later)."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("token" in data or "password" in data):
            raise ValueError(
                "a forge token is never written in shiplane.yaml: give 'tokenEnv' "
                "(an environment variable of the server) or 'tokenFile' (a file on it)"
            )
        return data

    @model_validator(mode="after")
    def _one_token(self) -> Self:
        if (self.token_env is None) == (self.token_file is None):
            raise ValueError(
                "a forge needs exactly one of 'tokenEnv' (an environment variable holding "
                "its API token) or 'tokenFile' (a file holding it)"
            )
        if self.token_file is not None and not Path(self.token_file).is_absolute():
            raise ValueError(f"tokenFile must be an absolute path, got '{self.token_file}'")
        return self

    def token_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The API token; SecretNotSetError says where it should be, never what it is."""
        return read_secret(self.token_env, self.token_file, "forge token", environ)


class GiteaForgeConfig(ForgeAccess):
    """A Gitea (or Forgejo) server: its REST API at `<url>/api/v1`."""

    url: HttpUrl
    """The server's base URL, e.g. `https://gitea.example` (no `/api/v1`)."""


class GitHubForgeConfig(ForgeAccess):
    """GitHub or GitHub Enterprise Server: the REST API."""

    url: HttpUrl = "https://api.github.com"
    """The REST API's base URL: `https://api.github.com`, or
    `https://HOST/api/v3` for GitHub Enterprise Server."""


class GitLabForgeConfig(ForgeAccess):
    """GitLab.com or a self-managed GitLab: the REST API v4."""

    url: HttpUrl = "https://gitlab.com"
    """The instance's base URL, e.g. `https://gitlab.example` (no `/api/v4`)."""


FORGE_SCHEMAS: dict[str, type[ForgeAccess]] = {
    "gitea": GiteaForgeConfig,
    "github": GitHubForgeConfig,
    "gitlab": GitLabForgeConfig,
}


class ForgeConfig(ConfigModel):
    """The forge of the GitOps repository: exactly one of gitea, github, gitlab."""

    gitea: GiteaForgeConfig | None = None
    """A Gitea or Forgejo server."""
    github: GitHubForgeConfig | None = None
    """GitHub.com or GitHub Enterprise Server."""
    gitlab: GitLabForgeConfig | None = None
    """GitLab.com or a self-managed GitLab."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        found = [t for t in FORGE_TYPES if getattr(self, t) is not None]
        if len(found) != 1:
            also = f", found: {', '.join(found)}" if found else ""
            raise ValueError("a forge needs exactly one of: gitea, github, gitlab" + also)
        return self

    @property
    def type(self) -> ForgeType:
        return next(t for t in FORGE_TYPES if getattr(self, t) is not None)

    @property
    def access(self) -> ForgeAccess:
        section = getattr(self, self.type)
        assert isinstance(section, ForgeAccess)
        return section
