"""Forge drivers (Gitea, GitHub, GitLab): pull requests, reviews, commit statuses and
webhook events behind one interface (`ForgeDriver`), one plugin per file in the
`FORGES` registry. docs/forges.md."""

from collections.abc import Mapping

import httpx

from shiplane.config.models import ForgeConfig, SecretNotSetError
from shiplane.forge import gitea, github, gitlab  # noqa: F401 (register)
from shiplane.forge.base import (
    FORGES,
    CommitState,
    CommitStatus,
    ForgeAuthError,
    ForgeDriver,
    ForgeError,
    ForgeEvent,
    ForgeNotFoundError,
    ForgeRejectedError,
    PullRequest,
    PullRequestEvent,
    PullRequestState,
    PushEvent,
    Review,
    WebhookRefused,
)


class ForgeTokenError(ForgeAuthError):
    """The forge's token is configured but cannot be read (unset variable, no file)."""


def make_driver(
    config: ForgeConfig,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ForgeDriver:
    """The driver of the configured forge, with its token read now (a rotated file is
    picked up by the next driver made)."""
    section = config.access
    try:
        token = section.token_value(environ)
    except SecretNotSetError as exc:
        raise ForgeTokenError(str(exc)) from None
    factory = FORGES.get(config.type).plugin
    return factory(section, token, transport)


__all__ = [
    "FORGES",
    "CommitState",
    "CommitStatus",
    "ForgeAuthError",
    "ForgeDriver",
    "ForgeError",
    "ForgeEvent",
    "ForgeNotFoundError",
    "ForgeRejectedError",
    "ForgeTokenError",
    "PullRequest",
    "PullRequestEvent",
    "PullRequestState",
    "PushEvent",
    "Review",
    "WebhookRefused",
    "make_driver",
]
