"""Server-side apply, dry-run and immutable fields on a real local cluster."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from lightkube import AsyncClient, Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Service

from shiplane.kube.apply import Applier
from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.kube.apply_results import ApplyError, blocking
from shiplane.kube.ownership import (
    APP_LABEL,
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    OWNER_ANNOTATION,
)
from shiplane.kube.refs import ObjRef
from tests.integration.kube import manifests as m
from tests.support.wait import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]

ENV, APP = "qa", "shop"


def versions(kube: Client, namespace: str) -> dict[str, str | None]:
    return {
        "deploy": kube.get(Deployment, "web", namespace=namespace).metadata.resourceVersion,  # type: ignore[union-attr]
        "svc": kube.get(Service, "web", namespace=namespace).metadata.resourceVersion,  # type: ignore[union-attr]
        "cm": kube.get(ConfigMap, "web", namespace=namespace).metadata.resourceVersion,  # type: ignore[union-attr]
    }


def settled(kube: Client, namespace: str) -> bool:
    """The Deployment's controller is done writing status (rollout complete)."""
    dep = kube.get(Deployment, "web", namespace=namespace)
    status, spec = dep.status, dep.spec
    return bool(
        status
        and spec
        and dep.metadata
        and status.observedGeneration == dep.metadata.generation
        and (status.updatedReplicas or 0) == spec.replicas
        and (status.availableReplicas or 0) == spec.replicas
        and (status.replicas or 0) == spec.replicas
    )


def app_objects(namespace: str, *, replicas: int = 1) -> list[dict[str, Any]]:
    # Deliberately out of order: the applier sorts.
    return [
        m.deployment("web", namespace, replicas=replicas),
        m.service("web", namespace),
        m.configmap("web", namespace),
    ]


async def test_apply_marks_orders_and_is_idempotent(
    applier: Applier, kube: Client, namespace: str
) -> None:
    result = await applier.apply(app_objects(namespace), environment=ENV, app=APP)
    kinds = [r.kind for r in result.applied]
    assert kinds == ["ConfigMap", "Service", "Deployment"]
    assert sorted(r.kind for r in result.changed) == sorted(kinds)
    assert sorted(r.kind for r in result.created) == sorted(kinds)
    assert result.unchanged == []

    for res in (Deployment, Service, ConfigMap):
        live = kube.get(res, "web", namespace=namespace)  # type: ignore[call-overload]
        assert live.metadata.labels[MANAGED_BY_LABEL] == "shiplane"
        assert live.metadata.labels[ENVIRONMENT_LABEL] == ENV
        assert live.metadata.labels[APP_LABEL] == APP
        assert live.metadata.annotations[OWNER_ANNOTATION] == f"{ENV}/{APP}"
        managers = {(f.manager, f.operation) for f in live.metadata.managedFields}
        assert ("shiplane", "Apply") in managers

    # A no-op sync writes nothing: same resourceVersions, everything unchanged. (Wait for
    # the rollout first, so the Deployment controller's own status writes are over.)
    wait_for(lambda: settled(kube, namespace), timeout=60, what="rollout of web")
    before = versions(kube, namespace)
    again = await applier.apply(app_objects(namespace), environment=ENV, app=APP)
    assert again.changed == []
    assert sorted(again.unchanged) == sorted(result.applied)
    assert versions(kube, namespace) == before

    # Same with the live versions known up front (e.g. from a watch cache): no GETs needed.
    rvs = dict(zip(("cm", "svc", "deploy"), result.applied, strict=True))
    known = {rvs[k]: v for k, v in before.items()}
    cached = await applier.apply(
        app_objects(namespace), environment=ENV, app=APP, live_versions=known
    )
    assert cached.changed == [] and len(cached.unchanged) == 3
    assert versions(kube, namespace) == before

    # One field changes: only that object is written.
    third = await applier.apply(app_objects(namespace, replicas=3), environment=ENV, app=APP)
    assert third.changed == [ObjRef("apps/v1", "Deployment", namespace, "web")]
    after = versions(kube, namespace)
    assert after["deploy"] != before["deploy"]
    assert (after["svc"], after["cm"]) == (before["svc"], before["cm"])
    assert kube.get(Deployment, "web", namespace=namespace).spec.replicas == 3  # type: ignore[union-attr]


async def test_dry_run_reports_bad_field_type_and_writes_nothing(
    applier: Applier, aclient: AsyncClient, namespace: str
) -> None:
    bad = m.deployment("bad", namespace, replicas="three")
    good = m.configmap("fine", namespace)
    problems = await applier.dry_run([good, bad])
    assert len(problems) == 1
    problem = problems[0]
    assert problem.ref == ObjRef("apps/v1", "Deployment", namespace, "bad")
    assert not problem.deferred
    assert "replicas" in problem.message
    assert str(problem).startswith(f"Deployment/{namespace}/bad: ")
    # Nothing was written, not even the valid object.
    for path in (
        f"/apis/apps/v1/namespaces/{namespace}/deployments/bad",
        f"/api/v1/namespaces/{namespace}/configmaps/fine",
    ):
        with pytest.raises(KubeApiError) as caught:
            await request(aclient, "GET", path)
        assert caught.value.not_found


async def test_dry_run_strict_field_validation(
    applier: Applier, aclient: AsyncClient, namespace: str
) -> None:
    obj = m.configmap("strict", namespace)
    obj["bogusField"] = {"x": 1}
    problems = await applier.dry_run([obj])
    assert [p.ref.name for p in problems] == ["strict"]
    assert "bogusField" in problems[0].message
    with pytest.raises(KubeApiError) as caught:
        await request(aclient, "GET", f"/api/v1/namespaces/{namespace}/configmaps/strict")
    assert caught.value.not_found

    # apply refuses it as well, naming the object, and writes nothing.
    with pytest.raises(ApplyError) as failed:
        await applier.apply([obj], environment=ENV, app=APP)
    assert f"ConfigMap/{namespace}/strict" in str(failed.value)
    assert "bogusField" in str(failed.value)
    assert failed.value.result.applied == []


async def test_dry_run_clean_batch_has_no_problems(applier: Applier, namespace: str) -> None:
    assert await applier.dry_run(app_objects(namespace)) == []


async def test_unknown_kind_is_a_clear_problem(applier: Applier, namespace: str) -> None:
    obj = {
        "apiVersion": "nope.example.com/v1",
        "kind": "Gizmo",
        "metadata": {"name": "g", "namespace": namespace},
    }
    problems = await applier.dry_run([obj])
    assert len(problems) == 1 and not problems[0].deferred
    assert "serves no Gizmo in nope.example.com/v1" in problems[0].message
    with pytest.raises(ApplyError):
        await applier.apply([obj, m.configmap("x", namespace)], environment=ENV, app=APP)


async def test_crd_and_custom_resource_in_one_batch(
    applier: Applier, aclient: AsyncClient, kube: Client, namespace: str
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.shiplane.test"
    definition = m.crd(group, "Widget", "widgets")
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": namespace},
        "spec": {"size": 3},
    }
    try:
        problems = await applier.dry_run([widget, definition])
        assert blocking(problems) == []
        assert [(p.ref.kind, p.deferred) for p in problems] == [("Widget", True)]
        assert f"deferred: needs CRD widgets.{group}" in problems[0].message

        result = await applier.apply([widget, definition], environment=ENV, app=APP)
        assert [r.kind for r in result.applied] == ["CustomResourceDefinition", "Widget"]
        live_crd = await request(
            aclient,
            "GET",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}",
        )
        conditions = {c["type"]: c["status"] for c in live_crd["status"]["conditions"]}
        assert conditions["Established"] == "True"
        live = await request(aclient, "GET", f"/apis/{group}/v1/namespaces/{namespace}/widgets/w1")
        assert live["spec"] == {"size": 3}
        assert live["metadata"]["annotations"][OWNER_ANNOTATION] == f"{ENV}/{APP}"
        assert await applier.discovery.is_namespaced(f"{group}/v1", "Widget") is True

        # Now the CRD exists: a bad custom resource is rejected by its schema.
        bad = dict(widget, spec={"size": "big"})
        problems = await applier.dry_run([bad, definition])
        assert [p.ref.kind for p in problems] == ["Widget"]
        assert not problems[0].deferred
    finally:
        await request(
            aclient,
            "DELETE",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}",
        )


async def test_namespace_and_contents_in_one_batch_and_cluster_scope(
    applier: Applier, aclient: AsyncClient
) -> None:
    ns = f"t-ns-{uuid.uuid4().hex[:8]}"
    role_name = f"shiplane-test-{uuid.uuid4().hex[:8]}"
    namespace_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        # A rendered namespace on a cluster-scoped object is dropped, not an error.
        "metadata": {"name": role_name, "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    objects = [m.configmap("inside", ns), role, namespace_obj]
    try:
        problems = await applier.dry_run(objects)
        assert blocking(problems) == []
        assert [(p.ref.name, p.deferred) for p in problems] == [("inside", True)]
        assert f"deferred: needs Namespace {ns}" in problems[0].message

        result = await applier.apply(objects, environment=ENV, app=APP)
        assert result.applied == [
            ObjRef("v1", "Namespace", "", ns),
            ObjRef("v1", "ConfigMap", ns, "inside"),
            ObjRef("rbac.authorization.k8s.io/v1", "ClusterRole", "", role_name),
        ]
        live_role = await request(
            aclient, "GET", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role_name}"
        )
        assert "namespace" not in live_role["metadata"]
        assert live_role["metadata"]["labels"][MANAGED_BY_LABEL] == "shiplane"
        live_ns = await request(aclient, "GET", f"/api/v1/namespaces/{ns}")
        assert live_ns["metadata"]["annotations"][OWNER_ANNOTATION] == f"{ENV}/{APP}"
        again = await applier.apply(objects, environment=ENV, app=APP)
        assert again.changed == []
    finally:
        await request(
            aclient, "DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role_name}"
        )
        await request(aclient, "DELETE", f"/api/v1/namespaces/{ns}")


async def test_immutable_field_fail_then_recreate(
    applier: Applier, aclient: AsyncClient, namespace: str
) -> None:
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs/migrate"
    await applier.apply([m.job("migrate", namespace)], environment=ENV, app=APP)
    first_uid = (await request(aclient, "GET", path))["metadata"]["uid"]
    changed = m.job("migrate", namespace, image="busybox:1.37")

    with pytest.raises(ApplyError) as failed:
        await applier.apply([changed], environment=ENV, app=APP)
    text = str(failed.value)
    assert f"Job/{namespace}/migrate" in text
    assert "spec.template" in text
    assert "immutable" in text
    assert "immutableFieldPolicy: recreate" in text
    assert failed.value.problems[0].field.startswith("spec.template")
    assert (await request(aclient, "GET", path))["metadata"]["uid"] == first_uid

    # The dry-run says the same before anything is pushed, or defers it under "recreate".
    problems = await applier.dry_run([changed])
    assert len(problems) == 1 and not problems[0].deferred
    assert "immutableFieldPolicy: recreate" in problems[0].message
    problems = await applier.dry_run([changed], immutable_policy="recreate")
    assert blocking(problems) == [] and len(problems) == 1

    result = await applier.apply([changed], environment=ENV, app=APP, immutable_policy="recreate")
    ref = ObjRef("batch/v1", "Job", namespace, "migrate")
    assert result.recreated == [ref] and result.changed == [ref]
    live = await request(aclient, "GET", path)
    assert live["metadata"]["uid"] != first_uid
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert live["metadata"]["annotations"][OWNER_ANNOTATION] == f"{ENV}/{APP}"


async def test_statefulset_spec_change_is_recognised_as_immutable(
    applier: Applier, aclient: AsyncClient, namespace: str
) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/statefulsets/db"
    await applier.apply(
        [m.statefulset("db", namespace, service_name="db")], environment=ENV, app=APP
    )
    first_uid = (await request(aclient, "GET", path))["metadata"]["uid"]
    changed = m.statefulset("db", namespace, service_name="db-headless")

    with pytest.raises(ApplyError) as failed:
        await applier.apply([changed], environment=ENV, app=APP)
    assert failed.value.problems[0].reason == "Immutable"
    assert "immutableFieldPolicy: recreate" in str(failed.value)

    result = await applier.apply([changed], environment=ENV, app=APP, immutable_policy="recreate")
    assert [r.name for r in result.recreated] == ["db"]
    live = await request(aclient, "GET", path)
    assert live["metadata"]["uid"] != first_uid
    assert live["spec"]["serviceName"] == "db-headless"


async def test_a_failing_kind_stops_later_kinds(
    applier: Applier, aclient: AsyncClient, namespace: str
) -> None:
    broken = m.configmap("broken", namespace)
    broken["data"] = {"k": 5}  # data values must be strings
    objects = [m.deployment("later", namespace), m.configmap("ok", namespace), broken]
    with pytest.raises(ApplyError) as failed:
        await applier.apply(objects, environment=ENV, app=APP)
    assert [p.ref.name for p in failed.value.problems] == ["broken"]
    # The other ConfigMap of the same phase went through; the Deployment was never sent.
    assert failed.value.result.applied == [ObjRef("v1", "ConfigMap", namespace, "ok")]
    with pytest.raises(KubeApiError) as missing:
        await request(aclient, "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/later")
    assert missing.value.not_found
