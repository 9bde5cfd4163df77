"""Waiting for health, always with a deadline, failing fast on Degraded.

Polls the live objects (concurrently, bounded) every `poll` seconds: a few GETs per app
are cheap, never miss a state, and need no watch bookkeeping. Returns as soon as every
object is Healthy, or immediately with the Degraded AppHealth when any object is
Degraded (e.g. ProgressDeadlineExceeded, a failed Job); raises HealthTimeout, carrying
the last AppHealth, when the deadline passes. Missing objects are waited for (a later
step may create them) and reported as Missing if they never appear.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError

from shiplane.domain.health import HealthStatus
from shiplane.kube.health import DEFAULT_POLICY, AppHealth, Health, HealthPolicy, aggregate, assess
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import ResourceKind, as_dict, dict_resource

Resolver = Callable[[str, str], ResourceKind]


class HealthTimeout(TimeoutError):
    """The objects were not all Healthy before the deadline; `.health` is the last seen."""

    def __init__(self, health: AppHealth, timeout: float) -> None:
        self.health = health
        self.timeout = timeout
        super().__init__(f"not healthy after {timeout:.0f}s: {health.status}: {health.message}")


async def get_live(
    client: AsyncClient, ref: ObjRef, *, resolve: Resolver | None = None
) -> dict[str, Any] | None:
    """The live object as a plain dict, or None when it does not exist."""
    kind = (resolve or ResourceKind.of)(ref.api_version, ref.kind)
    resource = dict_resource(kind)
    try:
        if kind.namespaced:
            raw = await client.get(resource, ref.name, namespace=ref.namespace or None)
        else:
            raw = await client.get(resource, ref.name)
    except ApiError as exc:
        if getattr(exc.status, "code", None) == 404:
            return None
        raise
    obj = as_dict(raw)
    obj.setdefault("apiVersion", ref.api_version)
    obj.setdefault("kind", ref.kind)
    return obj


async def check_health(
    client: AsyncClient,
    refs: Sequence[ObjRef],
    *,
    policy: HealthPolicy = DEFAULT_POLICY,
    resolve: Resolver | None = None,
    concurrency: int = 16,
) -> AppHealth:
    """One look at the objects' health (no waiting). An API error other than 404 makes
    that object Unknown with the error as its message."""
    limit = asyncio.Semaphore(concurrency)

    async def one(ref: ObjRef) -> tuple[ObjRef, Health | None]:
        async with limit:
            try:
                live = await get_live(client, ref, resolve=resolve)
            except Exception as exc:
                return ref, Health(HealthStatus.UNKNOWN, "ApiError", str(exc))
        return ref, assess(live, policy)

    results = await asyncio.gather(*(one(ref) for ref in refs))
    return aggregate(results)


async def wait_healthy(
    client: AsyncClient,
    refs: Sequence[ObjRef],
    *,
    timeout: float,  # noqa: ASYNC109 - the deadline is part of the contract
    on_progress: Callable[[AppHealth], None] | None = None,
    poll: float = 0.5,
    policy: HealthPolicy = DEFAULT_POLICY,
    resolve: Resolver | None = None,
) -> AppHealth:
    """Wait until every object is Healthy (or Suspended, which waiting cannot change).

    Returns the Healthy AppHealth, or the Degraded one as soon as any object is Degraded.
    Raises HealthTimeout with the last AppHealth when `timeout` seconds pass.
    `on_progress` is called with each AppHealth that differs from the previous one.
    """
    deadline = time.monotonic() + timeout
    last: AppHealth | None = None
    while True:
        remaining = deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                current = await check_health(client, refs, policy=policy, resolve=resolve)
        except TimeoutError:
            current = last or aggregate([])
            raise HealthTimeout(current, timeout) from None
        if on_progress is not None and (last is None or _changed(last, current)):
            on_progress(current)
        last = current
        if current.status is HealthStatus.DEGRADED:
            return current
        if current.status in (HealthStatus.HEALTHY, HealthStatus.SUSPENDED):
            return current
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HealthTimeout(current, timeout)
        await asyncio.sleep(min(poll, remaining))


def _changed(a: AppHealth, b: AppHealth) -> bool:
    return (a.status, a.reason, [r.health for r in a.resources]) != (
        b.status,
        b.reason,
        [r.health for r in b.resources],
    )
