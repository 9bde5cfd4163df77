"""Drift: does the cluster still match what Shiplane applied for an (environment, app)?

The engine registers the desired objects of an (environment, app) after each apply. The
detector listens to the cluster's watch cache and, on every change of a registered object,
recomputes that object's field-level diff (fields Shiplane owns only; see
`diff.field_diff`). The (environment, app) is OutOfSync when any object differs or is
missing, Synced when all match again. Status changes reach `on_status`; `on_drift` is
called whenever an app becomes OutOfSync or its set of diffs changes — the engine's
self-heal hook (re-apply the desired objects with server-side apply).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.domain.health import SyncStatus
from shiplane.kube.diff import FIELD_MANAGER, FieldDiff, field_diff
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_namespaces import WatchView
from shiplane.kube.watchcache import CacheEvent

log = logging.getLogger(__name__)

AppKey = tuple[str, str]  # (environment, app)
DriftCallback = Callable[[str, str, list[FieldDiff]], Awaitable[None] | None]
StatusCallback = Callable[[str, str, "AppSync"], Awaitable[None] | None]


@dataclass(frozen=True)
class AppSync:
    """Sync status of an (environment, app), with every drifted field."""

    status: SyncStatus
    diffs: tuple[FieldDiff, ...] = ()
    since: float = field(default=0.0, compare=False)  # time.monotonic() of the last change

    @property
    def drifted(self) -> list[ObjRef]:
        seen: list[ObjRef] = []
        for diff in self.diffs:
            if diff.ref is not None and diff.ref not in seen:
                seen.append(diff.ref)
        return seen

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.status), "diffs": [d.to_json() for d in self.diffs]}


class DriftDetector:
    """Computes sync status from a ClusterWatchCache and the registered desired objects.

    `ignore`: regular expressions on rendered field paths never reported as drift (for
    example `^spec\\.replicas$` when an autoscaler owns replicas).
    """

    def __init__(
        self,
        cache: WatchView,
        *,
        on_drift: DriftCallback | None = None,
        on_status: StatusCallback | None = None,
        field_manager: str = FIELD_MANAGER,
        ignore: Sequence[str] = (),
    ) -> None:
        self._cache = cache
        self._on_drift = on_drift
        self._on_status = on_status
        self._manager = field_manager
        self._ignore = tuple(ignore)
        self._desired: dict[AppKey, dict[ObjRef, dict[str, Any]]] = {}
        self._by_ref: dict[ObjRef, set[AppKey]] = {}
        self._diffs: dict[AppKey, dict[ObjRef, tuple[FieldDiff, ...]]] = {}
        self._status: dict[AppKey, AppSync] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe = cache.add_listener(self._on_event)

    def close(self) -> None:
        """Stop listening to the cache (pending callbacks still run)."""
        self._unsubscribe()

    # -- registration ---------------------------------------------------------------------

    def register(self, environment: str, app: str, desired: Sequence[Mapping[str, Any]]) -> AppSync:
        """Set the desired objects of (environment, app), replacing earlier ones, and
        compute its status against the cache right away."""
        key = (environment, app)
        self.unregister(environment, app, notify=False)
        objects = {ObjRef.of(dict(obj)): dict(obj) for obj in desired}
        self._desired[key] = objects
        self._diffs[key] = {}
        for ref in objects:
            self._by_ref.setdefault(ref, set()).add(key)
        for ref in objects:
            self._recompute_ref(key, ref)
        return self._publish(key)

    def unregister(self, environment: str, app: str, *, notify: bool = True) -> None:
        key = (environment, app)
        for ref in self._desired.pop(key, {}):
            owners = self._by_ref.get(ref)
            if owners is not None:
                owners.discard(key)
                if not owners:
                    del self._by_ref[ref]
        self._diffs.pop(key, None)
        if notify:
            self._status.pop(key, None)

    def apps(self) -> list[AppKey]:
        return sorted(self._desired)

    def desired(self, environment: str, app: str) -> list[dict[str, Any]]:
        return list(self._desired.get((environment, app), {}).values())

    def status(self, environment: str, app: str) -> AppSync:
        return self._status.get((environment, app), AppSync(SyncStatus.UNKNOWN))

    def statuses(self) -> dict[AppKey, AppSync]:
        return dict(self._status)

    def recheck(self) -> None:
        """Recompute every registered app against the cache."""
        for key, objects in self._desired.items():
            for ref in objects:
                self._recompute_ref(key, ref)
            self._publish(key)

    async def drain(self) -> None:
        """Wait for the callbacks started so far (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- events ---------------------------------------------------------------------------

    def _on_event(self, event: CacheEvent) -> None:
        if event.type == "RELISTED":
            touched = {
                key
                for ref, keys in self._by_ref.items()
                if ref.api_version == event.kind.api_version and ref.kind == event.kind.kind
                for key in keys
            }
            for key in touched:
                for ref in self._desired[key]:
                    if ref.kind == event.kind.kind and ref.api_version == event.kind.api_version:
                        self._recompute_ref(key, ref)
                self._publish(key)
            return
        if event.ref is None:
            return
        for key in list(self._by_ref.get(event.ref, ())):
            self._recompute_ref(key, event.ref)
            self._publish(key)

    def _recompute_ref(self, key: AppKey, ref: ObjRef) -> None:
        desired = self._desired[key][ref]
        diffs: tuple[FieldDiff, ...]
        if not self._cache.is_synced(ref.api_version, ref.kind):
            diffs = (FieldDiff("", "<present>", "<unknown>", ref),)
        else:
            live = self._cache.get(ref)
            diffs = tuple(
                field_diff(desired, live, manager=self._manager, ref=ref, ignore=self._ignore)
            )
        if diffs:
            self._diffs[key][ref] = diffs
        else:
            self._diffs[key].pop(ref, None)

    def _compute_status(self, key: AppKey) -> AppSync:
        per_ref = self._diffs.get(key, {})
        unknown = any(
            not self._cache.is_synced(ref.api_version, ref.kind) for ref in self._desired[key]
        )
        if unknown:
            return AppSync(SyncStatus.UNKNOWN, (), time.monotonic())
        ordered = tuple(d for ref in sorted(per_ref) for d in per_ref[ref])
        status = SyncStatus.OUT_OF_SYNC if ordered else SyncStatus.SYNCED
        return AppSync(status, ordered, time.monotonic())

    def _publish(self, key: AppKey) -> AppSync:
        new = self._compute_status(key)
        old = self._status.get(key)
        if old is not None and old == new:
            return old
        self._status[key] = new
        environment, app = key
        if self._on_status is not None:
            self._call(self._on_status, environment, app, new)
        if new.status is SyncStatus.OUT_OF_SYNC and self._on_drift is not None:
            self._call(self._on_drift, environment, app, list(new.diffs))
        return new

    def _call(self, callback: Callable[..., Awaitable[None] | None], *args: Any) -> None:
        try:
            result = callback(*args)
        except Exception:
            log.exception("drift callback failed for %s/%s", args[0], args[1])
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(_guard(result, args[0], args[1]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _guard(awaitable: Awaitable[None], environment: str, app: str) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("drift callback failed for %s/%s", environment, app)
