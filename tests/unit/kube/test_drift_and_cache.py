"""DriftDetector and ClusterWatchCache logic with an in-memory fake API client."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import Status

from shiplane.domain.health import SyncStatus
from shiplane.kube.diff import FieldDiff
from shiplane.kube.drift import DriftDetector
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import ResourceKind, compact, guess_plural
from shiplane.kube.watchcache import ClusterWatchCache


def cm(name: str, color: str, rv: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": str(rv),
            "labels": {"app.kubernetes.io/managed-by": "shiplane"},
            "managedFields": [
                {
                    "manager": "shiplane",
                    "operation": "Apply",
                    "fieldsV1": {"f:data": {"f:color": {}}},
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "subresource": "status",
                    "fieldsV1": {"f:status": {}},
                },
            ],
        },
        "data": {"color": color},
    }


class FakeListing:
    def __init__(self, items: list[dict[str, Any]], rv: str) -> None:
        self.items, self.resourceVersion = items, rv

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        for item in self.items:
            yield copy.deepcopy(item)


class FakeClient:
    """Serves a list, then scripted watch streams: each is a list of events or an error."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.rv = 10
        self.streams: list[list[tuple[str, dict[str, Any]]] | Exception] = []
        self.watch_versions: list[str | None] = []
        self.block = asyncio.Event()

    def list(self, resource: Any, **kwargs: Any) -> FakeListing:
        return FakeListing(list(self.objects.values()), str(self.rv))

    def watch(self, resource: Any, **kwargs: Any) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.watch_versions.append(kwargs.get("resource_version"))
        script = self.streams.pop(0) if self.streams else []
        return self._stream(script)

    async def _stream(self, script: Any) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        if isinstance(script, Exception):
            raise script
        for event in script:
            yield event
        if not self.streams:
            await self.block.wait()  # the last stream idles like an open watch


async def until(condition: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        if condition():
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def test_guess_plural_and_builtin_kinds():
    assert guess_plural("Widget") == "widgets"
    assert guess_plural("Policy") == "policies"
    assert guess_plural("Ingress") == "ingresses"
    assert ResourceKind.of("apps/v1", "Deployment") == ResourceKind(
        "apps/v1", "Deployment", "deployments", True
    )
    assert ResourceKind.of("v1", "Namespace").namespaced is False
    assert ResourceKind.of("example.com/v1", "Widget", namespaced=False).plural == "widgets"


def test_compact_keeps_what_drift_needs():
    obj = cm("a", "blue", 1)
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    compact(obj)
    assert [e["manager"] for e in obj["metadata"]["managedFields"]] == ["shiplane"]
    assert obj["metadata"]["annotations"] == {}


def test_cache_lists_watches_resumes_and_relists_on_410():
    async def main() -> None:
        client = FakeClient()
        client.objects = {"a": cm("a", "blue", 5), "b": cm("b", "green", 6)}
        gone = ApiError(status=Status(code=410, reason="Expired", message="too old"))
        client.streams = [
            [("MODIFIED", cm("a", "red", 11))],
            ConnectionError("dropped"),  # resume from rv 11 after a backoff
            gone,  # -> relist
        ]
        cache = ClusterWatchCache(
            client,  # type: ignore[arg-type]
            [("v1", "ConfigMap")],
            backoff_initial=0.01,
        )
        events: list[tuple[str, str | None]] = []
        cache.add_listener(lambda e: events.append((e.type, e.ref.name if e.ref else None)))
        # while the watch is broken b is deleted and c created: the relist must notice
        later = {"a": cm("a", "red", 11), "c": cm("c", "new", 12)}
        listing = client.list

        calls = 0

        def list_then_later(resource: Any, **kwargs: Any) -> FakeListing:
            nonlocal calls
            calls += 1
            if calls > 1:
                return FakeListing(list(later.values()), "12")
            return listing(resource, **kwargs)

        client.list = list_then_later  # type: ignore[method-assign]
        await cache.start(timeout=5)
        assert ("ADDED", "a") in events and ("ADDED", "b") in events
        await until(lambda: events.count(("RELISTED", None)) == 2, "relist after 410")
        stats = cache.stats("v1", "ConfigMap")
        assert stats.expired == 1 and stats.lists == 2 and stats.errors == 1
        assert client.watch_versions[:3] == ["10", "11", "11"]
        await until(lambda: len(client.watch_versions) == 4, "watch after the relist")
        assert client.watch_versions[3] == "12"
        assert ("MODIFIED", "a") in events
        assert ("DELETED", "b") in events and ("ADDED", "c") in events
        assert cache.get(ObjRef("v1", "ConfigMap", "ns", "b")) is None
        assert cache.get(ObjRef("v1", "ConfigMap", "ns", "c")) is not None
        assert cache.resource_version("v1", "ConfigMap") == "12"
        client.block.set()
        await cache.stop()

    asyncio.run(main())


def test_detector_statuses_and_callbacks():
    async def main() -> None:
        client = FakeClient()
        client.objects = {"a": cm("a", "blue", 5)}
        cache = ClusterWatchCache(client, [("v1", "ConfigMap")])  # type: ignore[arg-type]
        drift_calls: list[list[FieldDiff]] = []
        statuses: list[SyncStatus] = []

        async def on_drift(env: str, app: str, diffs: list[FieldDiff]) -> None:
            drift_calls.append(diffs)

        detector = DriftDetector(
            cache, on_drift=on_drift, on_status=lambda e, a, s: statuses.append(s.status)
        )
        desired = cm("a", "blue", 0)
        del desired["metadata"]["managedFields"], desired["metadata"]["resourceVersion"]
        assert detector.status("dev", "web").status is SyncStatus.UNKNOWN
        assert detector.register("dev", "web", [desired]).status is SyncStatus.UNKNOWN
        await cache.start(timeout=5)
        assert detector.status("dev", "web").status is SyncStatus.SYNCED

        # a live change arrives through the cache
        kw = cache._kinds[("v1", "ConfigMap")]
        changed = cm("a", "red", 7)
        changed["metadata"]["managedFields"][0]["fieldsV1"] = {}
        await cache._apply_event(kw, "MODIFIED", changed)
        sync = detector.status("dev", "web")
        assert sync.status is SyncStatus.OUT_OF_SYNC
        assert [(d.path, d.desired, d.live) for d in sync.diffs] == [("data.color", "blue", "red")]
        assert sync.drifted == [ObjRef("v1", "ConfigMap", "ns", "a")]
        await detector.drain()
        assert drift_calls == [list(sync.diffs)]

        await cache._apply_event(kw, "MODIFIED", cm("a", "blue", 8))
        assert detector.status("dev", "web").status is SyncStatus.SYNCED
        await cache._apply_event(kw, "DELETED", cm("a", "blue", 9))
        missing = detector.status("dev", "web")
        assert [(d.path, d.live) for d in missing.diffs] == [("", None)]
        assert statuses == [
            SyncStatus.UNKNOWN,
            SyncStatus.SYNCED,
            SyncStatus.OUT_OF_SYNC,
            SyncStatus.SYNCED,
            SyncStatus.OUT_OF_SYNC,
        ]
        detector.unregister("dev", "web")
        assert detector.apps() == []
        detector.close()
        client.block.set()
        await cache.stop()

    asyncio.run(main())
