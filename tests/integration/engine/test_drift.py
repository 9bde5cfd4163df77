"""Drift on a real cluster: a live edit marks the app OutOfSync; self-heal puts it back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment

from shiplane.engine.drift import DriftController
from shiplane.kube import apply as kube_apply
from shiplane.store.matrix import get_matrix
from tests.integration.engine.conftest import GitopsEnv

pytestmark = pytest.mark.cluster


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float, what: str) -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last {value!r}")
        await asyncio.sleep(0.05)


def test_live_edit_is_out_of_sync_with_a_field_diff_and_self_heal_restores_it(
    gitops_env: GitopsEnv,
):
    env = gitops_env
    ns = env.namespaces["dev"]
    rel = env.release(web="registry.example/shop/web:1.0.0")
    deployer = env.deployer
    healed: list[str] = []

    async def resync(environment: str, app: str) -> None:
        healed.append(app)
        await deployer.sync(environment, [app], actor="shiplane-self-heal")

    drift = DriftController(env.db, env.project, resync=resync)
    deployer.on_applied = drift.on_applied
    # Every status the controller records, in order (the store keeps only the newest,
    # and self-heal may turn OutOfSync back into Synced before a poll of it could see it).
    recorded: list[Any] = []
    write_status = drift._write_status

    stored: list[Any] = []

    async def spy(environment: str, app: str, sync: Any) -> None:
        await write_status(environment, app, sync)
        recorded.append((environment, app, sync))
        if str(sync.status) == "OutOfSync":
            stored.append(await asyncio.to_thread(cell))  # what the matrix showed then

    drift._write_status = spy  # type: ignore[method-assign]

    def cell() -> Any:
        with env.db.session() as s:
            return get_matrix(s, apps=["web"], environments=["dev"])[0]

    def out_of_sync() -> Any:
        return next((sync for _e, _a, sync in recorded if str(sync.status) == "OutOfSync"), None)

    async def scenario() -> tuple[Any, float]:
        try:
            await deployer.deploy(rel, "dev", actor="alice", apps=["web"])
            await eventually(
                lambda: asyncio.to_thread(lambda: cell().sync_status == "Synced"),
                timeout=10,
                what="Synced after deploy",
            )
            assert out_of_sync() is None
            # Someone edits a field Shiplane owns, as `kubectl edit` would.
            started = time.monotonic()
            await asyncio.to_thread(
                env.kube.patch,
                Deployment,
                "web",
                {"spec": {"replicas": 5}},
                namespace=ns,
                field_manager="kubectl-edit",
            )
            drifted = await eventually(
                lambda: asyncio.sleep(0, out_of_sync()),
                timeout=15,
                what="OutOfSync recorded after a live edit",
            )
            latency = time.monotonic() - started
            await eventually(
                lambda: asyncio.to_thread(
                    lambda: (
                        env.kube.get(Deployment, "web", namespace=ns).spec.replicas == 2
                        and cell().sync_status == "Synced"
                    )
                ),
                timeout=30,
                what="self-heal to restore replicas",
            )
            return drifted, latency
        finally:
            await drift.stop()
            await deployer.clusters.close()

    drifted, _latency = asyncio.run(scenario())
    assert [(d.path, d.desired, d.live) for d in drifted.diffs] == [("spec.replicas", 2, 5)]
    assert str(drifted.diffs[0].ref) == f"Deployment/{ns}/web"
    detail = stored[0].sync_detail  # the field-level diff as the store and API show it
    assert [(d["path"], d["desired"], d["live"]) for d in detail] == [("spec.replicas", 2, 5)]
    assert detail[0]["object"] == f"Deployment/{ns}/web"
    assert healed == ["web"]


def test_a_sync_sends_no_apply_for_objects_the_watch_cache_shows_unchanged(
    gitops_env: GitopsEnv, monkeypatch: pytest.MonkeyPatch
):
    env = gitops_env
    ns = env.namespaces["dev"]
    rel = env.release(web="registry.example/shop/web:1.0.0")
    deployer = env.deployer
    drift = DriftController(env.db, env.project)
    deployer.on_applied = drift.on_applied  # as DriftSupervisor wires them
    deployer.live_objects = drift.live
    # The PATCH requests (dry-run or apply) the deployer sends, by path: counted by a
    # wrapper around the real request function.
    sent: list[str] = []
    steady_sent: list[str] = []
    healed_sent: list[str] = []
    real_request = kube_apply.request

    async def counting(client: Any, method: str, path: str, **kw: Any) -> Any:
        if method == "PATCH":
            sent.append(path)
        return await real_request(client, method, path, **kw)

    monkeypatch.setattr(kube_apply, "request", counting)

    def versions() -> dict[str, Any]:
        """What a write by Shiplane would change: the Deployment's generation and the time
        of Shiplane's own managedFields entry (its controller keeps writing the status
        while the rollout goes on, so its resourceVersion may move), the others'
        resourceVersions (nobody else writes them)."""
        from lightkube.resources.core_v1 import ConfigMap, Service

        deployment = env.kube.get(Deployment, "web", namespace=ns).metadata
        ours = [m.time for m in deployment.managedFields or [] if m.manager == "shiplane"]
        return {
            "Deployment": (deployment.generation, ours),
            **{
                kind.__name__: env.kube.get(kind, name, namespace=ns).metadata.resourceVersion
                for kind, name in ((Service, "web"), (ConfigMap, "web-config"))
            },
        }

    def synced() -> bool:
        with env.db.session() as s:
            return get_matrix(s, apps=["web"], environments=["dev"])[0].sync_status == "Synced"

    async def scenario() -> tuple[Any, Any, dict[str, str], dict[str, str]]:
        try:
            await deployer.deploy(rel, "dev", actor="alice", apps=["web"], wait=False)
            await eventually(lambda: asyncio.to_thread(synced), timeout=15, what="Synced")
            before = await asyncio.to_thread(versions)
            sent.clear()
            steady = await deployer.sync("dev", ["web"], actor="alice", wait=False)
            after = await asyncio.to_thread(versions)
            steady_sent.extend(sent)
            sent.clear()
            # A live edit makes the Deployment differ: that one is sent again.
            await asyncio.to_thread(
                env.kube.patch,
                Deployment,
                "web",
                {"spec": {"replicas": 4}},
                namespace=ns,
                field_manager="kubectl-edit",
            )
            await eventually(
                lambda: asyncio.to_thread(lambda: not synced()), timeout=15, what="OutOfSync"
            )
            healed = await deployer.sync("dev", ["web"], actor="alice", wait=False)
            healed_sent.extend(sent)
            return steady, healed, before, after
        finally:
            await drift.stop()
            await deployer.clusters.close()

    steady, healed, before, after = asyncio.run(scenario())
    web = steady.apps["web"]
    assert (web.objects, web.changed, web.skipped) == (3, 0, 3)
    assert before == after  # nothing written
    # Not even dry-run: the Service and ConfigMap are in effect exactly as this process
    # applied them (their resourceVersions unchanged in the watch cache); the Deployment
    # may have moved (its controller writes its status), so it may be asked about.
    assert not [p for p in steady_sent if "/services/" in p or "/configmaps/" in p]
    assert all("/deployments/" in p for p in steady_sent), steady_sent
    # The live edit: the Deployment is dry-run and applied again.
    assert [p for p in healed_sent if "/deployments/" in p] != []
    assert (healed.apps["web"].changed, healed.apps["web"].skipped) == (1, 2)
    assert env.kube.get(Deployment, "web", namespace=ns).spec.replicas == 2
