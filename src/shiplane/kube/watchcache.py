"""One watch-based cache per cluster of the objects Shiplane manages.

For each kind: list (label selector `app.kubernetes.io/managed-by=shiplane`), then watch
from the list's resourceVersion, resuming from the last seen resourceVersion when a watch
ends or the connection drops (reconnecting with capped exponential backoff), and relisting
when the server says the version is too old (410 Gone / Expired). A relist replaces the
kind's objects and emits the differences (ADDED / MODIFIED / DELETED), so listeners never
miss a deletion that happened while the watch was down.

Objects are kept as plain dicts in compact form: `metadata.managedFields` keeps only
entries drift needs (Shiplane's own, and other managers' non-status entries, i.e. who
edited the spec), and the last-applied annotation is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError

from shiplane.kube.ownership import MANAGED_SELECTOR
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import (
    KindSpec,
    ResourceKind,
    as_dict,
    compact,
    dict_resource,
    resource_version_of,
)

log = logging.getLogger(__name__)

EventType = Literal["ADDED", "MODIFIED", "DELETED", "RELISTED"]


@dataclass(frozen=True)
class CacheEvent:
    """A change seen by the cache. For RELISTED (after a relist), `ref`/`obj` are None and
    `kind` names the kind that was relisted (its differences came as separate events)."""

    type: EventType
    kind: ResourceKind
    ref: ObjRef | None
    obj: dict[str, Any] | None
    old: dict[str, Any] | None = None


Listener = Callable[[CacheEvent], Awaitable[None] | None]


@dataclass
class KindStats:
    lists: int = 0
    watches: int = 0
    expired: int = 0
    errors: int = 0
    events: int = 0


class _KindWatch:
    def __init__(self, kind: ResourceKind) -> None:
        self.kind = kind
        self.resource = dict_resource(kind)
        self.objects: dict[ObjRef, dict[str, Any]] = {}
        self.resource_version: str | None = None
        self.synced = asyncio.Event()
        self.stats = KindStats()
        self.task: asyncio.Task[None] | None = None
        self.restart = asyncio.Event()


class _RestartWatch(Exception):
    pass


class ClusterWatchCache:
    """Live managed objects of one cluster, kept current by list + watch per kind.

    `kinds`: (apiVersion, kind) pairs or ResourceKind (needed for custom resources unless
    the plural follows the convention). `namespace`: None watches all namespaces.
    `watch_timeout`: seconds before the server closes a watch (it is then resumed).
    """

    def __init__(
        self,
        client: AsyncClient,
        kinds: Iterable[KindSpec],
        *,
        labels: Mapping[str, str] | None = None,
        namespace: str | None = None,
        field_manager: str = "shiplane",
        watch_timeout: int = 300,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        keep_compact: bool = True,
    ) -> None:
        self._client = client
        self._labels: dict[str, Any] = dict(MANAGED_SELECTOR if labels is None else labels)
        self._namespace = namespace
        self._field_manager = field_manager
        self._watch_timeout = watch_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._keep_compact = keep_compact
        self._kinds: dict[tuple[str, str], _KindWatch] = {}
        for spec in kinds:
            kind = spec if isinstance(spec, ResourceKind) else ResourceKind.of(*spec)
            self._kinds.setdefault(kind.key, _KindWatch(kind))
        self._listeners: list[Listener] = []
        self._running = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, *, timeout: float | None = 60.0) -> None:  # noqa: ASYNC109
        """Start watching every kind; return once each has completed its first list."""
        self._running = True
        for kw in self._kinds.values():
            if kw.task is None or kw.task.done():
                kw.task = asyncio.create_task(self._run(kw), name=f"watch {kw.kind}")
        await self.wait_synced(timeout=timeout)

    async def wait_synced(self, *, timeout: float | None = 60.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(kw.synced.wait() for kw in self._kinds.values()))

    async def stop(self) -> None:
        self._running = False
        tasks = [kw.task for kw in self._kinds.values() if kw.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for kw in self._kinds.values():
            kw.task = None

    async def __aenter__(self) -> ClusterWatchCache:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- queries --------------------------------------------------------------------------

    @property
    def kinds(self) -> list[ResourceKind]:
        return [kw.kind for kw in self._kinds.values()]

    def watches(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._kinds

    def is_synced(self, api_version: str | None = None, kind: str | None = None) -> bool:
        if api_version is not None and kind is not None:
            kw = self._kinds.get((api_version, kind))
            return kw is not None and kw.synced.is_set()
        return all(kw.synced.is_set() for kw in self._kinds.values())

    def get(self, ref: ObjRef) -> dict[str, Any] | None:
        kw = self._kinds.get((ref.api_version, ref.kind))
        return None if kw is None else kw.objects.get(ref)

    def objects(
        self, api_version: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, kw in self._kinds.items():
            if api_version is not None and key[0] != api_version:
                continue
            if kind is not None and key[1] != kind:
                continue
            out.extend(kw.objects.values())
        return out

    def __len__(self) -> int:
        return sum(len(kw.objects) for kw in self._kinds.values())

    def resource_version(self, api_version: str, kind: str) -> str | None:
        return self._kinds[(api_version, kind)].resource_version

    def stats(self, api_version: str, kind: str) -> KindStats:
        return self._kinds[(api_version, kind)].stats

    # -- listeners ------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` on every change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    async def _emit(self, event: CacheEvent) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(event)
                if result is not None:
                    await result
            except Exception:
                log.exception("watch cache listener failed on %s %s", event.type, event.ref)

    # -- control (operations and tests) ---------------------------------------------------

    def restart_watch(
        self, api_version: str, kind: str, *, resource_version: str | None = None
    ) -> None:
        """End the current watch of a kind and start a new one from the last seen
        resourceVersion, or from `resource_version` when given (a stale one simulates
        expiry: the server answers 410 Gone and the cache relists)."""
        kw = self._kinds[(api_version, kind)]
        if resource_version is not None:
            kw.resource_version = resource_version
        kw.restart.set()

    # -- the loop -------------------------------------------------------------------------

    def _prepare(self, raw: Any) -> dict[str, Any]:
        obj = as_dict(raw)
        return compact(obj, self._field_manager) if self._keep_compact else obj

    async def _relist(self, kw: _KindWatch) -> None:
        kw.stats.lists += 1
        listing = self._client.list(
            kw.resource,
            namespace="*" if kw.kind.namespaced and self._namespace is None else self._namespace,
            labels=self._labels or None,
            chunk_size=500,
        )
        fresh: dict[ObjRef, dict[str, Any]] = {}
        async for item in listing:
            obj = self._prepare(item)
            obj.setdefault("apiVersion", kw.kind.api_version)
            obj.setdefault("kind", kw.kind.kind)
            fresh[ObjRef.of(obj)] = obj
        version: str | None = None
        with contextlib.suppress(Exception):  # NotReadyError: the server sent none
            version = listing.resourceVersion
        old = kw.objects
        kw.objects = fresh
        kw.resource_version = version
        for ref, obj in fresh.items():
            before = old.get(ref)
            if before is None:
                await self._emit(CacheEvent("ADDED", kw.kind, ref, obj))
            elif resource_version_of(before) != resource_version_of(obj):
                await self._emit(CacheEvent("MODIFIED", kw.kind, ref, obj, before))
        for ref, before in old.items():
            if ref not in fresh:
                await self._emit(CacheEvent("DELETED", kw.kind, ref, None, before))
        kw.synced.set()
        await self._emit(CacheEvent("RELISTED", kw.kind, None, None))

    async def _watch(self, kw: _KindWatch) -> None:
        kw.stats.watches += 1
        stream = self._client.watch(
            kw.resource,
            namespace="*" if kw.kind.namespaced and self._namespace is None else self._namespace,
            labels=self._labels or None,
            resource_version=kw.resource_version,
            server_timeout=self._watch_timeout,
        )
        try:
            async for op, raw in stream:
                await self._apply_event(kw, str(op), raw)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def _watch_until_restart(self, kw: _KindWatch) -> None:
        """Run one watch; end it early (raising _RestartWatch) when a restart is asked."""
        kw.restart.clear()
        watch = asyncio.create_task(self._watch(kw), name=f"watch stream {kw.kind}")
        restart = asyncio.create_task(kw.restart.wait())
        try:
            done, _ = await asyncio.wait({watch, restart}, return_when=asyncio.FIRST_COMPLETED)
            if watch in done:
                watch.result()  # raises what the watch raised
                return
            raise _RestartWatch
        finally:
            for task in (watch, restart):
                if not task.done():
                    task.cancel()
            # gather, not `suppress(BaseException)`: a cancellation of this task that
            # arrives while it waits here must propagate, or the watch never stops.
            await asyncio.gather(watch, restart, return_exceptions=True)

    async def _apply_event(self, kw: _KindWatch, op: str, raw: Any) -> None:
        obj = self._prepare(raw)
        version = resource_version_of(obj)
        if version:
            kw.resource_version = version
        if op == "BOOKMARK":
            return
        obj.setdefault("apiVersion", kw.kind.api_version)
        obj.setdefault("kind", kw.kind.kind)
        ref = ObjRef.of(obj)
        kw.stats.events += 1
        before = kw.objects.get(ref)
        if op == "DELETED":
            kw.objects.pop(ref, None)
            await self._emit(CacheEvent("DELETED", kw.kind, ref, None, before or obj))
            return
        kw.objects[ref] = obj
        await self._emit(
            CacheEvent("ADDED" if before is None else "MODIFIED", kw.kind, ref, obj, before)
        )

    async def _run(self, kw: _KindWatch) -> None:
        delay = self._backoff_initial
        while self._running:
            try:
                if kw.resource_version is None or not kw.synced.is_set():
                    await self._relist(kw)
                await self._watch_until_restart(kw)
                delay = self._backoff_initial  # the server closed the watch cleanly
            except asyncio.CancelledError:
                raise
            except _RestartWatch:
                continue
            except Exception as exc:
                if _is_gone(exc):
                    kw.stats.expired += 1
                    log.info("watch of %s expired (%s); relisting", kw.kind, exc)
                    kw.resource_version = None
                    await self._relist_after_expiry(kw)
                    continue
                delay = await self._backoff(kw, exc, delay)

    async def _relist_after_expiry(self, kw: _KindWatch) -> None:
        # keep serving the old objects until the relist has replaced them
        try:
            await self._relist(kw)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._backoff(kw, exc, self._backoff_initial)

    async def _backoff(self, kw: _KindWatch, exc: BaseException, delay: float) -> float:
        kw.stats.errors += 1
        log.warning("watch of %s failed (%s); retrying in %.1fs", kw.kind, exc, delay)
        # wake early when asked to restart
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
        # that arrives as its timeout fires, and the retry loop would outlive stop().
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay * (0.5 + random.random())):
                await kw.restart.wait()
        return min(delay * 2, self._backoff_max)


def _is_gone(exc: BaseException) -> bool:
    """410 Gone / Expired: the resourceVersion is too old to resume from."""
    if isinstance(exc, ApiError):
        status = exc.status
        if getattr(status, "code", None) == 410 or getattr(status, "reason", None) in (
            "Expired",
            "Gone",
        ):
            return True
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 410


__all__ = [
    "CacheEvent",
    "ClusterWatchCache",
    "KindStats",
    "Listener",
]
