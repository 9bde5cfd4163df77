"""`notifications`: where promotion events are sent."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    Field,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from shiplane.config.models.base import (
    ConfigModel,
    Duration,
    HttpUrl,
)
from shiplane.domain.suggest import describe

NotificationEventName = Literal[
    "promotion.waiting_for_approval",
    "promotion.succeeded",
    "promotion.failed",
    "promotion.rolled_back",
    "promotion.frozen",
    "promotion.strategy_step",
]

NOTIFICATION_EVENTS: tuple[NotificationEventName, ...] = get_args(NotificationEventName)
"""Every event a notification channel can subscribe to (docs/notifications.md)."""

ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _check_env_var_name(value: str) -> str:
    if not re.match(ENV_VAR_PATTERN, value):
        raise ValueError(
            f"{describe(value)} is not an environment variable name "
            "(letters, digits and '_', not starting with a digit)"
        )
    return value


EnvVarName = Annotated[
    StrictStr,
    AfterValidator(_check_env_var_name),
    WithJsonSchema({"type": "string", "pattern": ENV_VAR_PATTERN}),
]


class SecretNotSetError(ValueError):
    """A channel names an environment variable that is not set (or is empty)."""


def _from_env(variable: str, what: str, environ: Mapping[str, str] | None) -> str:
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise SecretNotSetError(f"the environment variable {variable} ({what}) is not set")
    return value


class WebhookChannel(ConfigModel):
    """A generic JSON webhook: each event is POSTed, signed with HMAC-SHA256."""

    url: HttpUrl
    """URL the events are POSTed to."""
    secret: StrictStr | None = Field(default=None, min_length=16)
    """Signing secret written in the file (prefer `secretEnv`, so it stays out of git)."""
    secret_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the signing secret."""
    events: tuple[NotificationEventName, ...] = NOTIFICATION_EVENTS
    """Events sent to this channel (default: all)."""
    headers: dict[StrictStr, StrictStr] = {}
    """Extra request headers (never logged)."""
    timeout: Duration = Field(default=10, json_schema_extra={"default": "10s"})
    """Timeout of one delivery attempt."""

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError(
                "a webhook needs exactly one of 'secretEnv' (an environment variable "
                "holding the signing secret, preferred) or 'secret'"
            )
        return self

    def secret_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The signing secret; raises SecretNotSetError when its variable is unset."""
        if self.secret is not None:
            return self.secret
        assert self.secret_env is not None
        return _from_env(self.secret_env, "webhook secret", environ)


class SlackChannel(ConfigModel):
    """A Slack (or compatible) incoming webhook: a readable message per event."""

    url: HttpUrl | None = None
    """Incoming-webhook URL written in the file (prefer `urlEnv`: the URL is a secret)."""
    url_env: EnvVarName | None = None
    """Name of an environment variable of the server that holds the incoming-webhook URL."""
    events: tuple[NotificationEventName, ...] = NOTIFICATION_EVENTS
    """Events sent to this channel (default: all)."""
    timeout: Duration = Field(default=10, json_schema_extra={"default": "10s"})
    """Timeout of one delivery attempt."""

    @model_validator(mode="after")
    def _one_url(self) -> Self:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(
                "a slack channel needs exactly one of 'urlEnv' (an environment variable "
                "holding the incoming-webhook URL, preferred) or 'url'"
            )
        return self

    def url_value(self, environ: Mapping[str, str] | None = None) -> str:
        """The incoming-webhook URL; raises SecretNotSetError when its variable is unset."""
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        url = _from_env(self.url_env, "slack webhook URL", environ)
        if not url.startswith(("https://", "http://")):
            # The URL is a secret: say which variable is wrong, never what it holds.
            raise SecretNotSetError(f"the environment variable {self.url_env} is not a URL")
        return url


class NotificationChannel(ConfigModel):
    """Where promotion events are sent: exactly one of `webhook` or `slack`."""

    webhook: WebhookChannel | None = None
    """A generic JSON webhook signed with HMAC-SHA256."""
    slack: SlackChannel | None = None
    """A Slack-compatible incoming webhook."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.webhook is None) == (self.slack is None):
            raise ValueError("a notification channel needs exactly one of: webhook, slack")
        return self

    @property
    def kind(self) -> Literal["webhook", "slack"]:
        return "webhook" if self.webhook is not None else "slack"

    @property
    def events(self) -> tuple[str, ...]:
        spec = self.webhook if self.webhook is not None else self.slack
        assert spec is not None
        return spec.events

    @property
    def timeout(self) -> int:
        spec = self.webhook if self.webhook is not None else self.slack
        assert spec is not None
        return spec.timeout
