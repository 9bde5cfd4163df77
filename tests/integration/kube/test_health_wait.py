"""Health waits against a real local cluster: Healthy, fail-fast Degraded, Missing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lightkube import AsyncClient

from shiplane.domain.health import HealthStatus
from shiplane.kube.connection import connect
from shiplane.kube.health import AppHealth
from shiplane.kube.health_wait import HealthTimeout, check_health, wait_healthy
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import ResourceKind, dict_resource
from shiplane.localcluster.cluster import ClusterState

pytestmark = pytest.mark.cluster


def deployment(name: str, ns: str, *, labels: dict[str, str] | None = None, deadline: int = 600):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 2,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **(labels or {})}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
            },
        },
    }


def job(name: str, ns: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels or {}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.36"}],
                },
            },
        },
    }


async def apply(client: AsyncClient, obj: dict[str, Any]) -> ObjRef:
    resource = dict_resource(ResourceKind.of(obj["apiVersion"], obj["kind"]))
    await client.apply(resource(obj), field_manager="shiplane", force=True)
    return ObjRef.of(obj)


def run(cluster: ClusterState, body: Any) -> Any:
    async def main() -> Any:
        client = connect(cluster.kubeconfig)
        try:
            return await body(client)
        finally:
            await client.close()

    return asyncio.run(main())


def test_good_deployment_becomes_healthy(cluster: ClusterState, namespace: str):
    seen: list[AppHealth] = []

    async def body(client: AsyncClient) -> AppHealth:
        ref = await apply(client, deployment("web", namespace))
        return await wait_healthy(client, [ref], timeout=90, on_progress=seen.append, poll=0.2)

    result = run(cluster, body)
    assert result.status is HealthStatus.HEALTHY, result
    assert result.resources[0].health.reason == "RolloutComplete"
    assert seen and seen[-1].status is HealthStatus.HEALTHY
    assert any(h.status is HealthStatus.PROGRESSING for h in seen)  # it was watched rolling out


def test_crashlooping_rollout_fails_fast_with_progress_deadline_exceeded(
    cluster: ClusterState, namespace: str
):
    async def body(client: AsyncClient) -> AppHealth:
        bad = deployment(
            "bad", namespace, labels={"shiplane.dev/simulate": "crashloop"}, deadline=5
        )
        refs = [await apply(client, bad), await apply(client, deployment("ok", namespace))]
        # returns (does not raise HealthTimeout) long before the 60 s deadline
        return await wait_healthy(client, refs, timeout=60, poll=0.2)

    result = run(cluster, body)
    assert result.status is HealthStatus.DEGRADED, result
    assert result.reason == "ProgressDeadlineExceeded"
    assert result.message.startswith(f"Deployment/{namespace}/bad:")


def test_failing_job_is_degraded(cluster: ClusterState, namespace: str):
    async def body(client: AsyncClient) -> AppHealth:
        ref = await apply(
            client, job("migrate", namespace, labels={"shiplane.dev/simulate": "fail"})
        )
        return await wait_healthy(client, [ref], timeout=60, poll=0.2)

    result = run(cluster, body)
    assert result.status is HealthStatus.DEGRADED, result
    assert result.reason in ("BackoffLimitExceeded", "FailureTarget")


def test_completing_job_is_healthy(cluster: ClusterState, namespace: str):
    async def body(client: AsyncClient) -> AppHealth:
        ref = await apply(client, job("ok", namespace))
        return await wait_healthy(client, [ref], timeout=60, poll=0.2)

    assert run(cluster, body).status is HealthStatus.HEALTHY


def test_missing_object_is_missing_and_the_wait_times_out(cluster: ClusterState, namespace: str):
    gone = ObjRef("v1", "ConfigMap", namespace, "never-created")

    async def body(client: AsyncClient) -> tuple[AppHealth, HealthTimeout]:
        once = await check_health(client, [gone])
        with pytest.raises(HealthTimeout) as info:
            await wait_healthy(client, [gone], timeout=1.0, poll=0.2)
        return once, info.value

    once, timeout = run(cluster, body)
    assert once.status is HealthStatus.MISSING
    assert once.reason == "NotFound"
    assert timeout.health.status is HealthStatus.MISSING
    assert "never-created" in timeout.health.message
