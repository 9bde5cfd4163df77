"""Apply and prune order (pure)."""

from __future__ import annotations

import random

from shiplane.kube import ordering
from shiplane.kube.refs import ObjRef


def ref(api_version: str, kind: str, name: str = "x", namespace: str = "ns") -> ObjRef:
    return ObjRef(api_version, kind, namespace, name)


EXPECTED = [
    ref("v1", "Namespace", "ns", ""),
    ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", ""),
    ref("v1", "ServiceAccount"),
    ref("v1", "Secret"),
    ref("v1", "ConfigMap", "a"),
    ref("v1", "ConfigMap", "b"),
    ref("v1", "PersistentVolumeClaim"),
    ref("rbac.authorization.k8s.io/v1", "ClusterRole", "r", ""),
    ref("rbac.authorization.k8s.io/v1", "Role"),
    ref("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ref("v1", "Service"),
    ref("apps/v1", "Deployment"),
    ref("autoscaling/v2", "HorizontalPodAutoscaler"),
    ref("apps/v1", "StatefulSet"),
    ref("batch/v1", "Job"),
    ref("networking.k8s.io/v1", "Ingress"),
    ref("example.com/v1", "Widget"),
]


def test_apply_order_is_stable_for_any_input_order() -> None:
    rng = random.Random(7)
    for _ in range(20):
        shuffled = EXPECTED[:]
        rng.shuffle(shuffled)
        assert ordering.apply_order(shuffled) == EXPECTED


def test_prune_order_is_the_reverse() -> None:
    assert ordering.prune_order(EXPECTED) == list(reversed(EXPECTED))


def test_custom_kind_named_like_a_builtin_is_custom() -> None:
    knative = ref("serving.knative.dev/v1", "Service")
    assert ordering.kind_rank(knative) == ordering.UNKNOWN_RANK
    assert ordering.apply_order([knative, ref("apps/v1", "Deployment")])[-1] == knative


def test_stage0_is_namespaces_and_crds_only() -> None:
    assert ordering.is_stage0(ref("v1", "Namespace"))
    assert ordering.is_stage0(ref("apiextensions.k8s.io/v1", "CustomResourceDefinition"))
    assert not ordering.is_stage0(ref("rbac.authorization.k8s.io/v1", "ClusterRole"))
    assert not ordering.is_stage0(ref("example.com/v1", "Namespace"))


def test_identity_ignores_the_version() -> None:
    old, new = ref("apps/v1beta2", "Deployment"), ref("apps/v1", "Deployment")
    assert ordering.identity(old) == ordering.identity(new) == ("apps", "Deployment", "ns", "x")
    assert ordering.group_of("v1") == "" and ordering.version_of("v1") == "v1"
    assert ordering.group_of("apps/v1") == "apps" and ordering.version_of("apps/v1") == "v1"


def test_runs_group_equal_phases() -> None:
    refs = ordering.apply_order(
        [
            ref("v1", "ConfigMap", "a"),
            ref("v1", "ConfigMap", "b"),
            ref("v1", "Service"),
            ref("apps/v1", "Deployment", "d1"),
            ref("apps/v1", "Deployment", "d2"),
        ]
    )
    runs = ordering.runs(refs, key=ordering.phase_key)
    assert [[r.name for r in run] for run in runs] == [["a", "b"], ["x"], ["d1", "d2"]]
    assert ordering.runs([], key=ordering.phase_key) == []
