"""Shared pieces of the drivers' webhook handling and of open-or-find. Pure except
`open_or_find`, which only calls the driver it is given."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shiplane.domain.push_payload import changed_paths
from shiplane.forge.base import (
    ForgeDriver,
    ForgeRejectedError,
    PullRequest,
    PushEvent,
    WebhookRefused,
)


def payload(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRefused("the payload is not an object")
    return data


def field(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or None where something is missing."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def required_text(data: Any, *path: str) -> str:
    value = field(data, *path)
    if not isinstance(value, str) or not value.strip():
        raise WebhookRefused(f"{'.'.join(path)} is missing or not a string")
    return value.strip()


def required_int(data: Any, *path: str) -> int:
    value = field(data, *path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise WebhookRefused(f"{'.'.join(path)} is missing or not a number")
    return value


def optional_text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "")
    if not value.strip():
        raise WebhookRefused(f"the {name} header is missing")
    return value


def push_event(data: dict[str, Any], url: str) -> PushEvent:
    """A push as Gitea, GitHub and GitLab describe it (`ref`, `after`, `commits`)."""
    return PushEvent(
        repository_url=url,
        ref=required_text(data, "ref"),
        after=optional_text(data.get("after")),
        paths=changed_paths(data),
    )


async def open_or_find(
    driver: ForgeDriver, head: str, base: str, create: Callable[[], Awaitable[PullRequest]]
) -> PullRequest:
    """The open pull request of `head` into `base`, created when there is none. A forge
    that refuses a second one (another process opened it in between) is asked again."""
    existing = await driver.find_open_pull_request(head, base)
    if existing is not None:
        return existing
    try:
        return await create()
    except ForgeRejectedError:
        raced = await driver.find_open_pull_request(head, base)
        if raced is None:
            raise
        return raced
