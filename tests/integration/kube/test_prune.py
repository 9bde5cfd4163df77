"""Prune on a real local cluster: only what is stale, still ours and not opted out."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import ConfigMap

from shiplane.kube.apply import Applier
from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.kube.ownership import OWNER_ANNOTATION, PRUNE_ANNOTATION
from shiplane.kube.refs import ObjRef
from tests.integration.kube import manifests as m

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]

ENV, APP = "staging", "shop"


def names(kube: Client, namespace: str) -> set[str]:
    return {
        cm.metadata.name  # type: ignore[union-attr]
        for cm in kube.list(ConfigMap, namespace=namespace)
        if cm.metadata and cm.metadata.name != "kube-root-ca.crt"
    }


async def deploy(applier: Applier, objects: list[dict[str, Any]]) -> list[ObjRef]:
    return (await applier.apply(objects, environment=ENV, app=APP)).applied


async def test_prune_removes_dropped_objects_in_reverse_order(
    applier: Applier, kube: Client, namespace: str
) -> None:
    objects = [m.configmap(n, namespace) for n in ("a", "b", "c")]
    objects.append(m.deployment("web", namespace))
    previous = await deploy(applier, objects)
    current = await deploy(applier, [objects[0], objects[1]])  # drop c and the Deployment

    result = await applier.prune(previous, current, environment=ENV, app=APP)
    assert not result.refused, result.reason
    assert result.failed == []
    # Reverse apply order: the workload goes before the ConfigMap.
    assert result.deleted == [
        ObjRef("apps/v1", "Deployment", namespace, "web"),
        ObjRef("v1", "ConfigMap", namespace, "c"),
    ]
    assert names(kube, namespace) == {"a", "b"}

    # Pruning again is a no-op; a 404 counts as done.
    again = await applier.prune(previous, current, environment=ENV, app=APP)
    assert not again.refused
    assert sorted(again.deleted) == sorted(result.deleted)
    assert names(kube, namespace) == {"a", "b"}


async def test_prune_honours_opt_out_and_foreign_owner(
    applier: Applier, kube: Client, namespace: str
) -> None:
    keep = m.configmap("keep", namespace, annotations={PRUNE_ANNOTATION: "false"})
    taken = m.configmap("taken", namespace)
    others = [m.configmap(n, namespace) for n in ("x", "y", "z", "w")]
    previous = await deploy(applier, [keep, taken, *others])
    # Someone else took `taken` over (another app's owner annotation).
    await request(
        applier.client,
        "PATCH",
        f"/api/v1/namespaces/{namespace}/configmaps/taken",
        params={"fieldManager": "someone-else"},
        body={"metadata": {"annotations": {OWNER_ANNOTATION: f"{ENV}/other-app"}}},
        content_type="application/merge-patch+json",
    )
    current = await deploy(applier, others)

    result = await applier.prune(previous, current, environment=ENV, app=APP)
    assert not result.refused, result.reason
    assert result.deleted == []
    assert result.skipped_opt_out == [ObjRef("v1", "ConfigMap", namespace, "keep")]
    assert result.skipped_not_owned == [ObjRef("v1", "ConfigMap", namespace, "taken")]
    assert names(kube, namespace) == {"keep", "taken", "x", "y", "z", "w"}


async def test_prune_refuses_above_fraction_and_empty_render(
    applier: Applier, kube: Client, namespace: str
) -> None:
    objects = [m.configmap(n, namespace) for n in ("a", "b", "c", "d")]
    previous = await deploy(applier, objects)

    # 3 of 4 (75%) is above the default 50%: nothing is deleted.
    current = previous[:1]
    result = await applier.prune(previous, current, environment=ENV, app=APP)
    assert result.refused
    assert "3 of 4" in result.reason and "50%" in result.reason
    assert result.deleted == []
    assert sorted(result.keep) == sorted(previous[1:])
    assert names(kube, namespace) == {"a", "b", "c", "d"}

    # An empty render is refused even with a generous limit...
    result = await applier.prune(previous, [], max_fraction=0.99, environment=ENV, app=APP)
    assert result.refused and "every object" in result.reason
    assert names(kube, namespace) == {"a", "b", "c", "d"}

    # ...and allowed only at 100%.
    result = await applier.prune(
        previous[:2], previous[:1], max_fraction=0.5, environment=ENV, app=APP
    )
    assert not result.refused and result.deleted == [previous[1]]
    result = await applier.prune(previous[2:], [], max_fraction=1.0, environment=ENV, app=APP)
    assert not result.refused and sorted(result.deleted) == sorted(previous[2:])
    assert names(kube, namespace) == {"a"}


async def test_prune_of_namespace_and_cluster_scoped_objects(applier: Applier) -> None:
    import uuid

    ns = f"t-prune-{uuid.uuid4().hex[:8]}"
    role = f"shiplane-prune-{uuid.uuid4().hex[:8]}"
    keep = m.configmap("keep", "default", data={"k": "v"})
    keep["metadata"]["name"] = f"keep-{uuid.uuid4().hex[:8]}"
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        m.configmap("inside", ns),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": [],
        },
        keep,
        m.configmap(f"k2-{uuid.uuid4().hex[:6]}", "default"),
        m.configmap(f"k3-{uuid.uuid4().hex[:6]}", "default"),
    ]
    previous = await deploy(applier, objects)
    current = [r for r in previous if r.namespace == "default"]
    try:
        result = await applier.prune(previous, current, environment=ENV, app=APP)
        assert not result.refused, result.reason
        assert [r.kind for r in result.deleted] == ["ClusterRole", "ConfigMap", "Namespace"]
        with pytest.raises(KubeApiError) as gone:
            await request(
                applier.client, "GET", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}"
            )
        assert gone.value.not_found
        live_ns = await request(applier.client, "GET", f"/api/v1/namespaces/{ns}")
        assert (
            live_ns["metadata"].get("deletionTimestamp")
            or live_ns["status"]["phase"] == "Terminating"
        )
    finally:
        for ref in current:
            await request(
                applier.client, "DELETE", f"/api/v1/namespaces/default/configmaps/{ref.name}"
            )
