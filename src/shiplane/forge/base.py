"""What every forge driver is: pull requests, reviews, commit statuses, webhook events.

One interface (`ForgeDriver`) over Gitea, GitHub and GitLab, shaped for pull-request
promotions: `open_pull_request` is open-or-find by head branch (a resumed promotion
never opens a second one), `pull_request` is polled for merged/closed (webhooks only
make it sooner), `approvals` lists who approved, `close_pull_request` closes the pull
request of an aborted promotion, `set_status` reports verification on the merged
commit. Webhook deliveries are verified (`verify_delivery`) and parsed
(`parse_delivery`) into `PushEvent` / `PullRequestEvent`. Drivers register in `FORGES`
(domain/registry.py) under the name of their `forge:` section, with its schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

import httpx

from shiplane.config.models import ForgeAccess
from shiplane.domain.errors import ExternalError, ForbiddenError, InvalidError, NotFoundError
from shiplane.domain.registry import Registry


class PullRequestState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"  # closed without being merged


@dataclass(frozen=True)
class PullRequest:
    """A pull (merge) request as the forge reports it now."""

    number: int
    """Its number in the repository (GitLab: the merge request's iid)."""
    url: str
    """Where people see it."""
    head: str
    base: str
    title: str
    state: PullRequestState
    head_sha: str | None = None
    merge_commit: str | None = None
    """The commit the merge made on `base` (state merged only)."""


@dataclass(frozen=True)
class Review:
    """An approval of a pull request by `user` (at `commit`, when the forge says)."""

    user: str
    commit: str | None = None


CommitState = Literal["pending", "success", "failure", "error"]


@dataclass(frozen=True)
class CommitStatus:
    """A status of a commit under `context` (one per context: the newest wins)."""

    state: CommitState
    context: str
    description: str = ""
    target_url: str | None = None


@dataclass(frozen=True)
class PushEvent:
    """Commits were pushed: `ref` of the repository at `repository_url` moved to `after`.
    `paths` are the files the pushed commits added, modified or removed, or None when
    the payload does not list them (or lists only some: the forge caps the commits)."""

    repository_url: str
    ref: str
    after: str | None
    paths: tuple[str, ...] | None


@dataclass(frozen=True)
class PullRequestEvent:
    """Something happened to a pull request (`action` as the forge names it)."""

    repository_url: str
    action: str
    number: int
    head: str
    base: str
    state: PullRequestState
    merge_commit: str | None = None


ForgeEvent = PushEvent | PullRequestEvent


class ForgeError(ExternalError):
    """A forge's API failed (5xx, a timeout, a refused connection: retryable)."""


class ForgeAuthError(ForbiddenError):
    """The forge refused the token (401/403): a wrong, expired or under-scoped token."""


class ForgeNotFoundError(NotFoundError):
    """The repository, pull request or commit does not exist on the forge (or the token
    may not see it)."""


class ForgeRejectedError(InvalidError):
    """The forge refused the request as invalid (422 and other 4xx)."""


class WebhookRefused(InvalidError):
    """A webhook delivery that is not authentic or not the forge's documented shape."""


class ForgeDriver(Protocol):
    """One forge's API for one repository (see the module docstring)."""

    name: str

    async def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """The open pull request from `head` into `base`, opened now unless one exists."""
        ...

    async def find_open_pull_request(
        self, head: str, base: str | None = None
    ) -> PullRequest | None:
        """The open pull request whose head branch is `head` (into `base` when given)."""
        ...

    async def pull_request(self, number: int) -> PullRequest:
        """The pull request `number` as it is now (open, merged with its commit, closed)."""
        ...

    async def close_pull_request(self, number: int) -> PullRequest:
        """Close pull request `number` without merging it (a promotion aborted in
        Shiplane); closing a closed one changes nothing."""
        ...

    async def approvals(self, number: int) -> list[Review]:
        """The users whose latest review of pull request `number` approves it."""
        ...

    async def set_status(self, sha: str, status: CommitStatus) -> None:
        """Set `status` on commit `sha` (replacing the one of the same context)."""
        ...

    async def statuses(self, sha: str) -> list[CommitStatus]:
        """The latest status of each context on commit `sha`."""
        ...

    def verify_delivery(self, headers: Mapping[str, str], body: bytes, secret: str) -> None:
        """Return when the delivery is signed with `secret`; else WebhookRefused.
        `headers` have lower-case names."""
        ...

    def parse_delivery(self, headers: Mapping[str, str], body: bytes) -> ForgeEvent | None:
        """The push or pull-request event of a verified delivery; None for other events."""
        ...

    async def aclose(self) -> None: ...


DriverFactory = Callable[[ForgeAccess, str, "httpx.AsyncBaseTransport | None"], ForgeDriver]
"""(config section, API token, transport for tests) -> a driver."""

FORGES: Registry[DriverFactory] = Registry("forge")
"""Forge drivers by the name of their `forge:` section. Modules register on import."""
