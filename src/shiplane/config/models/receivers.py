"""`receivers`: webhook endpoints (`POST /api/v1/hooks/{name}`) that registries, forges
and CI call when something was pushed, so the matching sources refresh at once.

The secret is never written in the file: it comes from an environment variable of the
server (`secretEnv`) or a file next to it (`secretFile`). docs/sources.md, "Receivers".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, get_args

from pydantic import Field, StrictInt, StrictStr, model_validator

from shiplane.config.models.base import ConfigModel, Duration, Ref
from shiplane.config.models.notifications import EnvVarName, SecretNotSetError

ReceiverType = Literal[
    "distribution", "dockerhub", "github", "gitlab", "harbor", "quay", "gitea", "generic"
]
RECEIVER_TYPES: tuple[ReceiverType, ...] = get_args(ReceiverType)
"""Every receiver type; `sources/receivers` has one plugin per type."""

DEFAULT_MAX_BODY = 1024 * 1024
MAX_MAX_BODY = 25 * 1024 * 1024  # GitHub's own cap on a payload
MAX_SECRET_FILE = 4096


class ReceiverConfig(ConfigModel):
    """A webhook receiver: who may call it (its secret) and which sources it may refresh."""

    type: ReceiverType
    """The sender: distribution (the OCI distribution registry), dockerhub, github,
    gitlab, harbor, quay, gitea, or generic (any CI, signed like Shiplane's webhooks)."""
    secret_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the secret."""
    secret_file: StrictStr | None = None
    """Absolute path of a file on the server that holds the secret (surrounding
    whitespace is ignored), e.g. a mounted Kubernetes Secret."""
    sources: tuple[Ref, ...] = ()
    """Allow-list: only these sources may be refreshed by this receiver (empty: every
    source that matches a delivery)."""
    registry: StrictStr | None = None
    """Registry host to match image sources against, instead of the one the payload
    names (e.g. `127.0.0.1:5000` when the registry is reached under several names)."""
    replay_window: Duration = Field(default=3600, ge=300, json_schema_extra={"default": "1h"})
    """How long a delivery id (or, without one, the delivery's signature or body hash) is
    remembered to refuse the same delivery again. At least 5m."""
    max_body_bytes: StrictInt = Field(default=DEFAULT_MAX_BODY, ge=1024, le=MAX_MAX_BODY)
    """Largest body accepted, in bytes (read before anything is parsed)."""

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("secret" in data or "token" in data):
            raise ValueError(
                "a receiver's secret is never written in shiplane.yaml: give 'secretEnv' "
                "(an environment variable of the server) or 'secretFile' (a file on it)"
            )
        return data

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError(
                "a receiver needs exactly one of 'secretEnv' (an environment variable "
                "holding its secret) or 'secretFile' (a file holding it)"
            )
        if self.secret_file is not None and not Path(self.secret_file).is_absolute():
            raise ValueError(f"secretFile must be an absolute path, got '{self.secret_file}'")
        if self.registry is not None and (
            not self.registry.strip() or "/" in self.registry or " " in self.registry
        ):
            raise ValueError("registry is a host with an optional port, e.g. 'ghcr.io'")
        return self

    def secret_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret; SecretNotSetError (saying where it should be, never what it is)
        when the variable is unset or empty, or the file is missing, unreadable or empty."""
        return read_secret(self.secret_env, self.secret_file, "receiver secret", environ)


def read_secret(
    variable: str | None,
    file: str | None,
    what: str,
    environ: Mapping[str, str] | None = None,
) -> str:
    """A secret from the environment variable `variable` or the file `file` (surrounding
    whitespace dropped): the one way receivers and forge tokens read theirs, read when
    needed so a rotated file is picked up. SecretNotSetError says where it should be,
    never what it is."""
    if variable is not None:
        value = (os.environ if environ is None else environ).get(variable, "")
        if not value:
            raise SecretNotSetError(f"the environment variable {variable} ({what}) is not set")
        return value
    if file is None:
        raise SecretNotSetError(f"no {what} is configured")
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretNotSetError(f"the {what} file {file} cannot be read: {reason}") from None
    value = raw.decode("utf-8", errors="replace").strip()
    if not value or len(raw) > MAX_SECRET_FILE:
        raise SecretNotSetError(f"the {what} file {file} is empty or too long")
    return value
