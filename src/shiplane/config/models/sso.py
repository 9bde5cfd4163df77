"""`sso`: single sign-on through an OpenID Connect provider (docs/sso.md).

People sign in to the web UI (authorization code flow with PKCE) and the CLI (`shiplane
login --sso`) with the provider; the groups its ID token names are mapped to a role in
some environments by `roles`. The client secret is never written in the file: it comes
from an environment variable of the server (`clientSecretEnv`) or a file on it
(`clientSecretFile`), as receivers' secrets do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import Field, StrictInt, StrictStr, model_validator

from shiplane.config.models.base import ConfigModel, Duration, Name
from shiplane.config.models.notifications import EnvVarName, SecretNotSetError
from shiplane.domain.roles import Role

MAX_SECRET_FILE = 4096
DEFAULT_SCOPES = ("openid", "profile", "email", "groups")


class SsoRoleMapping(ConfigModel):
    """A group of the provider and the role its members get in some environments."""

    group: StrictStr = Field(min_length=1, max_length=200)
    """A group as the ID token's groups claim names it (Gitea: `org` or `org:team`)."""
    role: Role
    """viewer, promoter, approver or admin (as API tokens' roles)."""
    environments: tuple[Name, ...] = ()
    """Where the role applies (empty: every environment)."""


class SsoConfig(ConfigModel):
    """The OpenID Connect provider, this server's client at it and the group mapping."""

    issuer: StrictStr
    """The provider's issuer URL (its `/.well-known/openid-configuration` is read from
    there), e.g. `https://gitea.example` or `https://keycloak.example/realms/shop`."""
    client_id: StrictStr = Field(min_length=1)
    """The OAuth2 client id of Shiplane at the provider."""
    client_secret_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the client secret."""
    client_secret_file: StrictStr | None = None
    """Absolute path of a file on the server that holds the client secret."""
    scopes: tuple[StrictStr, ...] = DEFAULT_SCOPES
    """Scopes asked for; `openid` is required (Gitea sends groups with `groups`)."""
    groups_claim: StrictStr = "groups"
    """The ID token claim that lists the person's groups."""
    username_claim: StrictStr = "preferred_username"
    """The claim that names the person (the audit actor and approver); `sub` when the
    provider has no readable name."""
    roles: tuple[SsoRoleMapping, ...] = ()
    """Group to role mappings; a person in none of the groups cannot sign in. Someone in
    several gets, in each environment, the highest role any of them grants there."""
    cli_port: StrictInt | None = Field(default=None, ge=1024, le=65535)
    """The loopback port `shiplane login --sso` listens on when `--port` is not given, for
    providers that match redirect URIs exactly (Gitea does for confidential clients):
    register `http://127.0.0.1:PORT/callback` there. None: a free port."""
    cli_token_lifetime: Duration = Field(
        default=12 * 3600, ge=300, le=30 * 86400, json_schema_extra={"default": "12h"}
    )
    """How long the API token `shiplane login --sso` receives stays valid."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("clientSecret" in data or "secret" in data):
            raise ValueError(
                "the client secret is never written in shiplane.yaml: give "
                "'clientSecretEnv' (an environment variable of the server) or "
                "'clientSecretFile' (a file on it)"
            )
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.client_secret_env is None) == (self.client_secret_file is None):
            raise ValueError(
                "sso needs exactly one of 'clientSecretEnv' (an environment variable "
                "holding the client secret) or 'clientSecretFile' (a file holding it)"
            )
        if self.client_secret_file is not None and not Path(self.client_secret_file).is_absolute():
            raise ValueError(
                f"clientSecretFile must be an absolute path, got '{self.client_secret_file}'"
            )
        if not self.issuer.startswith(("https://", "http://")) or " " in self.issuer:
            raise ValueError(f"issuer must be an http(s) URL, got '{self.issuer}'")
        if "openid" not in self.scopes:
            raise ValueError("scopes must include 'openid' (an ID token is needed)")
        return self

    def client_secret(self, environ: Mapping[str, str] | None = None) -> str:
        """The client secret; SecretNotSetError (saying where it should be, never what it
        is) when the variable is unset or empty, or the file cannot be read."""
        if self.client_secret_env is not None:
            value = (os.environ if environ is None else environ).get(self.client_secret_env, "")
            if not value:
                raise SecretNotSetError(
                    f"the environment variable {self.client_secret_env} (sso client secret) "
                    "is not set"
                )
            return value
        assert self.client_secret_file is not None
        try:
            with open(self.client_secret_file, "rb") as handle:
                raw = handle.read(MAX_SECRET_FILE + 1)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SecretNotSetError(
                f"the sso client secret file {self.client_secret_file} cannot be read: {reason}"
            ) from None
        value = raw.decode("utf-8", errors="replace").strip()
        if not value or len(raw) > MAX_SECRET_FILE:
            raise SecretNotSetError(
                f"the sso client secret file {self.client_secret_file} is empty or too long"
            )
        return value
