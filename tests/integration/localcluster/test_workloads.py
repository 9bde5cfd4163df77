"""Workloads on the real local control planes behave as on a real cluster."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client
from lightkube.codecs import from_dict
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap

from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import kube_client
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster


def deployment(
    name: str,
    *,
    replicas: int = 2,
    image: str = "nginx:1.27",
    labels: dict[str, str] | None = None,
    deadline: int = 600,
) -> Any:
    pod_labels = {"app": name, **(labels or {})}
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "progressDeadlineSeconds": deadline,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {"containers": [{"name": "main", "image": image}]},
                },
            },
        }
    )


def job(name: str, *, labels: dict[str, str] | None = None) -> Any:
    return from_dict(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
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
    )


def condition(obj: Any, ctype: str) -> Any:
    for cond in (obj.status.conditions or []) if obj.status else []:
        if cond.type == ctype:
            return cond
    return None


def rollout_complete(kube: Client, name: str, namespace: str, replicas: int) -> bool:
    d = kube.get(Deployment, name, namespace=namespace)
    s = d.status
    return bool(
        s is not None
        and (s.observedGeneration or 0) >= (d.metadata.generation or 0)
        and s.updatedReplicas == replicas
        and s.availableReplicas == replicas
        and (s.replicas or 0) == replicas
        and condition(d, "Available") is not None
        and condition(d, "Available").status == "True"
    )


def test_deployment_becomes_available_then_scales_and_rolls_out(kube: Client, namespace: str):
    kube.create(deployment("web", replicas=2), namespace=namespace)
    wait_for(
        lambda: rollout_complete(kube, "web", namespace, 2),
        timeout=60,
        what="web to become Available with 2 replicas",
    )

    kube.patch(Deployment, "web", {"spec": {"replicas": 4}}, namespace=namespace)
    wait_for(
        lambda: rollout_complete(kube, "web", namespace, 4), timeout=60, what="web scaled to 4"
    )

    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}
    }
    kube.patch(Deployment, "web", patch, namespace=namespace)
    wait_for(
        lambda: rollout_complete(kube, "web", namespace, 4),
        timeout=60,
        what="web rollout of nginx:1.28",
    )
    d = kube.get(Deployment, "web", namespace=namespace)
    assert d.spec.template.spec.containers[0].image == "nginx:1.28"
    assert d.metadata.generation is not None and d.metadata.generation >= 3


def test_crashloop_label_makes_rollout_exceed_its_progress_deadline(kube: Client, namespace: str):
    bad = deployment("bad", replicas=1, deadline=3, labels={"shiplane.dev/simulate": "crashloop"})
    kube.create(bad, namespace=namespace)

    def deadline_exceeded() -> bool:
        cond = condition(kube.get(Deployment, "bad", namespace=namespace), "Progressing")
        return cond is not None and cond.reason == "ProgressDeadlineExceeded"

    wait_for(deadline_exceeded, timeout=60, what="ProgressDeadlineExceeded on bad")
    d = kube.get(Deployment, "bad", namespace=namespace)
    assert not d.status.availableReplicas
    assert condition(d, "Progressing").status == "False"


def test_job_completes(kube: Client, namespace: str):
    kube.create(job("ok"), namespace=namespace)

    def complete() -> bool:
        cond = condition(kube.get(Job, "ok", namespace=namespace), "Complete")
        return cond is not None and cond.status == "True"

    wait_for(complete, timeout=60, what="job ok Complete")
    assert kube.get(Job, "ok", namespace=namespace).status.succeeded == 1


def test_job_with_failure_label_ends_failed(kube: Client, namespace: str):
    kube.create(job("bad", labels={"shiplane.dev/simulate": "fail"}), namespace=namespace)

    def failed() -> Any:
        cond = condition(kube.get(Job, "bad", namespace=namespace), "Failed")
        return cond if cond is not None and cond.status == "True" else None

    cond = wait_for(failed, timeout=60, what="job bad Failed")
    assert cond.reason == "BackoffLimitExceeded"
    assert condition(kube.get(Job, "bad", namespace=namespace), "Complete") is None


def test_two_clusters_are_isolated(cluster: ClusterState, second_cluster: ClusterState):
    assert cluster.server != second_cluster.server
    a, b = kube_client(cluster), kube_client(second_cluster)
    marker = from_dict(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "only-in-a"},
            "data": {"k": "v"},
        }
    )
    a.create(marker, namespace="default")
    try:
        assert a.get(ConfigMap, "only-in-a", namespace="default").data == {"k": "v"}
        names = [cm.metadata.name for cm in b.list(ConfigMap, namespace="default")]
        assert "only-in-a" not in names
    finally:
        a.delete(ConfigMap, "only-in-a", namespace="default")


def test_image_tag_ending_in_crashloop_makes_the_rollout_fail(kube: Client, namespace: str):
    kube.create(
        deployment("broken", replicas=1, image="shop/web:1.1.0-crashloop", deadline=3),
        namespace=namespace,
    )

    def deadline_exceeded() -> bool:
        cond = condition(kube.get(Deployment, "broken", namespace=namespace), "Progressing")
        return cond is not None and cond.reason == "ProgressDeadlineExceeded"

    wait_for(deadline_exceeded, timeout=60, what="ProgressDeadlineExceeded on broken")


def test_job_image_tag_ending_in_fail_makes_the_job_fail(kube: Client, namespace: str):
    failing = job("imgfail")
    failing.spec.template.spec.containers[0].image = "shop/smoke:1.0-fail"
    kube.create(failing, namespace=namespace)

    def failed() -> bool:
        cond = condition(kube.get(Job, "imgfail", namespace=namespace), "Failed")
        return cond is not None and cond.status == "True"

    wait_for(failed, timeout=60, what="job imgfail Failed")
