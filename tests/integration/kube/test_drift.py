"""Drift on a real cluster: a live edit of a field Shiplane owns -> OutOfSync with the
field diff; self-heal re-applies -> Synced; secrets masked; watch resume and relist."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from lightkube import AsyncClient, Client
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import Status
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Secret

from shiplane.domain.health import SyncStatus
from shiplane.kube.connection import connect
from shiplane.kube.diff import FieldDiff
from shiplane.kube.drift import AppSync, DriftDetector
from shiplane.kube.masking import MASK
from shiplane.kube.ownership import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import ResourceKind, dict_resource
from shiplane.kube.watchcache import ClusterWatchCache
from shiplane.localcluster.cluster import ClusterState

pytestmark = pytest.mark.cluster

T = TypeVar("T")
KINDS = [("apps/v1", "Deployment"), ("v1", "Secret"), ("v1", "ConfigMap")]
MANAGED = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}


async def eventually(condition: Callable[[], T], *, timeout: float, what: str) -> T:  # noqa: ASYNC109
    """Poll `condition` on the event loop until truthy, with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last {value!r}")
        await asyncio.sleep(0.05)


def deployment(name: str, ns: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nginx:1.27",
                            "resources": {"limits": {"cpu": "0.5"}},
                        }
                    ]
                },
            },
        },
    }


def secret(name: str, ns: str, password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED)},
        "type": "Opaque",
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


def configmap(name: str, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED)},
        "data": {"color": "blue"},
    }


async def apply(client: AsyncClient, obj: dict[str, Any]) -> None:
    resource = dict_resource(ResourceKind.of(obj["apiVersion"], obj["kind"]))
    await client.apply(resource(obj), field_manager="shiplane", force=True)


class ExpiringClient:
    """The real client, except that the next watch can be made to fail with 410 Gone, as
    the API server does when a resourceVersion has been compacted away (a fresh local
    cluster still serves very old versions, so expiry cannot be provoked for real)."""

    def __init__(self, inner: AsyncClient) -> None:
        self.inner = inner
        self.expire_next_watch: str | None = None  # a kind

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        if self.expire_next_watch == args[0].__name__:
            self.expire_next_watch = None
            return self._gone(kwargs.get("resource_version"))
        return self.inner.watch(*args, **kwargs)

    async def _gone(self, version: str | None) -> AsyncIterator[Any]:
        message = f"too old resource version: {version} (99999)"
        raise ApiError(status=Status(code=410, reason="Expired", message=message))
        yield  # an async generator, like lightkube's watch


class Harness:
    def __init__(self, client: AsyncClient, namespace: str) -> None:
        self.client = client
        self.watch_client = ExpiringClient(client)
        self.cache = ClusterWatchCache(self.watch_client, KINDS, namespace=namespace)  # type: ignore[arg-type]
        self.drift_calls: list[tuple[str, str, list[FieldDiff]]] = []
        self.heal = False
        self.detector = DriftDetector(self.cache, on_drift=self.on_drift)

    async def on_drift(self, environment: str, app: str, diffs: list[FieldDiff]) -> None:
        self.drift_calls.append((environment, app, diffs))
        if self.heal:  # the engine's self-heal: re-apply what git says, with SSA
            for obj in self.detector.desired(environment, app):
                await apply(self.client, obj)

    def status(self) -> AppSync:
        return self.detector.status("dev", "web")


def run(cluster: ClusterState, namespace: str, body: Callable[[Harness], Any]) -> Any:
    async def main() -> Any:
        client = connect(cluster.kubeconfig)
        harness = Harness(client, namespace)
        try:
            return await asyncio.wait_for(body(harness), timeout=120)
        finally:
            await harness.cache.stop()
            await harness.detector.drain()
            await client.close()

    return asyncio.run(main())


def test_live_edit_is_out_of_sync_with_field_diff_and_self_heal_restores_it(
    cluster: ClusterState, namespace: str, kube: Client
):
    desired = deployment("web", namespace)

    async def body(h: Harness) -> None:
        await apply(h.client, desired)
        await h.cache.start(timeout=30)
        assert h.detector.register("dev", "web", [desired]).status is SyncStatus.SYNCED

        # like `kubectl edit`: another field manager changes a field Shiplane owns
        await asyncio.to_thread(
            kube.patch, Deployment, "web", {"spec": {"replicas": 3}}, namespace=namespace
        )
        sync = await eventually(
            lambda: h.status().status is SyncStatus.OUT_OF_SYNC and h.status(),
            timeout=5,
            what="OutOfSync after the live edit",
        )
        ref = ObjRef("apps/v1", "Deployment", namespace, "web")
        assert sync.diffs == (FieldDiff("spec.replicas", 2, 3, ref, ("shiplane-tests",)),)
        # The status is published first; the on_drift hook runs as its own task right after.
        await eventually(lambda: h.drift_calls, timeout=5, what="the on_drift hook")
        assert h.drift_calls[-1][:2] == ("dev", "web")
        assert h.drift_calls[-1][2] == list(sync.diffs)

        # self-heal: the on_drift hook re-applies; the cache sees it and reports Synced
        h.heal = True
        await asyncio.to_thread(
            kube.patch, Deployment, "web", {"spec": {"replicas": 4}}, namespace=namespace
        )
        await eventually(
            lambda: h.status().status is SyncStatus.SYNCED,
            timeout=10,
            what="Synced after self-heal",
        )
        live = await asyncio.to_thread(kube.get, Deployment, "web", namespace=namespace)
        assert live.spec.replicas == 2

    run(cluster, namespace, body)


def test_changed_secret_data_is_masked(cluster: ClusterState, namespace: str, kube: Client):
    desired = secret("db", namespace, "s3cret-value")

    async def body(h: Harness) -> AppSync:
        await apply(h.client, desired)
        await h.cache.start(timeout=30)
        h.detector.register("dev", "web", [desired])
        assert h.status().status is SyncStatus.SYNCED
        leaked = base64.b64encode(b"changed-by-hand").decode()
        await asyncio.to_thread(
            kube.patch, Secret, "db", {"data": {"password": leaked}}, namespace=namespace
        )
        return await eventually(
            lambda: h.status().status is SyncStatus.OUT_OF_SYNC and h.status(),
            timeout=5,
            what="OutOfSync after the secret edit",
        )

    sync = run(cluster, namespace, body)
    (diff,) = sync.diffs
    assert (diff.path, diff.desired, diff.live) == ("data.password", MASK, MASK)
    text = repr(sync.to_json())
    for secret_text in (
        "s3cret-value",
        "changed-by-hand",
        base64.b64encode(b"s3cret-value").decode(),
    ):
        assert secret_text not in text


def test_watch_resumes_and_relists_after_expiry(
    cluster: ClusterState, namespace: str, kube: Client
):
    cm = configmap("settings", namespace)
    dep = deployment("web", namespace, replicas=1)

    async def body(h: Harness) -> None:
        await apply(h.client, cm)
        await apply(h.client, dep)
        await h.cache.start(timeout=30)
        h.detector.register("dev", "web", [cm, dep])
        assert h.status().status is SyncStatus.SYNCED
        lists_before = h.cache.stats("v1", "ConfigMap").lists

        # 1. stop the cache, change things while nobody watches, start again: the watch
        #    resumes from the last resourceVersion and sees what happened meanwhile
        await h.cache.stop()
        await asyncio.to_thread(
            kube.patch, ConfigMap, "settings", {"data": {"color": "red"}}, namespace=namespace
        )
        await h.cache.start(timeout=30)
        sync = await eventually(
            lambda: h.status().status is SyncStatus.OUT_OF_SYNC and h.status(),
            timeout=5,
            what="OutOfSync seen after resuming the watch",
        )
        assert [(d.path, d.desired, d.live) for d in sync.diffs] == [("data.color", "blue", "red")]
        assert h.cache.stats("v1", "ConfigMap").lists == lists_before  # resumed, no relist

        # 2. a forced restart from a very old resourceVersion: the server replays from it
        h.cache.restart_watch("v1", "ConfigMap", resource_version="1")
        await eventually(
            lambda: h.cache.stats("v1", "ConfigMap").watches >= 3,
            timeout=5,
            what="the restarted ConfigMap watch",
        )
        assert h.status().status is SyncStatus.OUT_OF_SYNC

        # 3. expiry: the next watch gets 410 Gone, so the cache relists; a deletion that
        #    happened while the watch was down is noticed by comparing with the relist
        await h.cache.stop()
        await asyncio.to_thread(kube.delete, ConfigMap, "settings", namespace=namespace)
        h.watch_client.expire_next_watch = "ConfigMap"
        await h.cache.start(timeout=30)
        sync = await eventually(
            lambda: any(d.path == "" for d in h.status().diffs) and h.status(),
            timeout=10,
            what="the deleted ConfigMap reported missing",
        )
        stats = h.cache.stats("v1", "ConfigMap")
        # At least the injected expiry; the restart from resourceVersion "1" above may also
        # have met a real 410 when the API server's watch cache no longer reaches back.
        assert stats.expired >= 1
        assert stats.lists >= lists_before + 1
        missing = [d for d in sync.diffs if d.path == ""]
        assert missing[0].ref == ObjRef("v1", "ConfigMap", namespace, "settings")
        assert h.cache.get(ObjRef.of(cm)) is None

        # 4. after the relist the watch keeps working: re-create -> Synced again
        await apply(h.client, cm)
        await eventually(
            lambda: h.status().status is SyncStatus.SYNCED, timeout=5, what="Synced again"
        )

    run(cluster, namespace, body)


def test_cache_keeps_compact_objects(cluster: ClusterState, namespace: str):
    async def body(h: Harness) -> dict[str, Any] | None:
        await apply(h.client, deployment("web", namespace, replicas=1))
        await h.cache.start(timeout=30)
        ref = ObjRef("apps/v1", "Deployment", namespace, "web")
        await eventually(
            lambda: (h.cache.get(ref) or {}).get("status", {}).get("observedGeneration"),
            timeout=10,
            what="status in the cache",
        )
        return h.cache.get(ref)

    obj = run(cluster, namespace, body)
    assert obj is not None
    managers = {e["manager"] for e in obj["metadata"].get("managedFields", [])}
    assert "shiplane" in managers
    assert "kube-controller-manager" not in managers  # status writes dropped
    assert set(obj["metadata"]["managedFields"][0]) <= {
        "manager",
        "operation",
        "subresource",
        "fieldsV1",
    }
