"""The watch cache of a cluster whose credentials reach only some namespaces.

Credentials granted by Roles (as `shiplane cluster add` makes them) may not list or watch
across the cluster, so the one list + watch per kind of `ClusterWatchCache` is refused.
Here each namespace has its own `ClusterWatchCache`, and the set answers like one cache:
an object is looked up in its namespace's cache, a kind is synced when every namespace's
list of it completed, and listeners hear every namespace. Cluster-scoped kinds are not
watched (a Role cannot grant them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from lightkube import AsyncClient

from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import KindSpec, ResourceKind
from shiplane.kube.watchcache import ClusterWatchCache, Listener


class WatchView(Protocol):
    """What drift reads of a watch cache (one cluster-wide, or one per namespace)."""

    async def start(self, *, timeout: float | None = 60.0) -> None: ...  # noqa: ASYNC109
    async def stop(self) -> None: ...
    def is_synced(self, api_version: str | None = None, kind: str | None = None) -> bool: ...
    def get(self, ref: ObjRef) -> dict[str, Any] | None: ...
    def add_listener(self, listener: Listener) -> Callable[[], None]: ...


class NamespacesWatchCache:
    """One `ClusterWatchCache` per namespace, read as one."""

    def __init__(
        self, client: AsyncClient, kinds: Iterable[KindSpec], namespaces: Sequence[str]
    ) -> None:
        resolved = [k if isinstance(k, ResourceKind) else ResourceKind.of(*k) for k in kinds]
        namespaced = [k for k in resolved if k.namespaced]
        unique = dict.fromkeys(namespaces)
        self.caches = {ns: ClusterWatchCache(client, namespaced, namespace=ns) for ns in unique}

    async def start(self, *, timeout: float | None = 60.0) -> None:  # noqa: ASYNC109
        try:
            await asyncio.gather(*(c.start(timeout=timeout) for c in self.caches.values()))
        except BaseException:
            await asyncio.shield(self.stop())
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.caches.values()))

    def is_synced(self, api_version: str | None = None, kind: str | None = None) -> bool:
        return all(c.is_synced(api_version, kind) for c in self.caches.values())

    def get(self, ref: ObjRef) -> dict[str, Any] | None:
        cache = self.caches.get(ref.namespace or "")
        return None if cache is None else cache.get(ref)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        removers = [c.add_listener(listener) for c in self.caches.values()]

        def remove() -> None:
            for one in removers:
                one()

        return remove


def watch_cache(
    client: AsyncClient, kinds: Iterable[KindSpec], namespaces: Sequence[str] | None
) -> WatchView:
    """The cluster's watch cache: cluster-wide, or per namespace when access is limited."""
    if namespaces:
        return NamespacesWatchCache(client, kinds, namespaces)
    return ClusterWatchCache(client, list(kinds))
