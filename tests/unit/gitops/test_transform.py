"""Image substitution, namespace injection, duplicates and ordering: pure logic."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shiplane.gitops.renderers.context import Document
from shiplane.gitops.renderers.transform import (
    apply_images,
    find_duplicates,
    image_name,
    inject_namespace,
    normalise_repository,
    sort_documents,
)


def obj(api_version: str, kind: str, name: str, **extra: Any) -> Document:
    meta: dict[str, Any] = {"name": name}
    if "namespace" in extra:
        meta["namespace"] = extra.pop("namespace")
    return Document({"apiVersion": api_version, "kind": kind, "metadata": meta, **extra}, "f.yaml")


def pod_spec(*images: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "initContainers": [{"name": f"i{n}", "image": i} for n, i in enumerate(init)],
        "containers": [{"name": f"c{n}", "image": i} for n, i in enumerate(images)],
    }


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("nginx", "nginx"),
        ("nginx:1.25", "nginx"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("localhost:5000/app:1", "localhost:5000/app"),
        ("r.example/a/b:1@sha256:" + "a" * 64, "r.example/a/b"),
        ("r.example/a@sha256:" + "a" * 64, "r.example/a"),
    ],
)
def test_image_name(image: str, name: str) -> None:
    assert image_name(image) == name


def test_docker_hub_names_are_normalised() -> None:
    same = {"nginx", "library/nginx", "docker.io/nginx", "docker.io/library/nginx"}
    assert {normalise_repository(n) for n in same} == {"docker.io/library/nginx"}
    assert normalise_repository("index.docker.io/org/x") == "docker.io/org/x"
    assert normalise_repository("r.example/org/x") == "r.example/org/x"
    assert normalise_repository("localhost/x") == "localhost/x"


def test_images_replaced_in_every_workload_kind() -> None:
    new = "r.example/shop/api:2@sha256:" + "b" * 64
    template = {
        "template": {"spec": pod_spec("r.example/shop/api:1", init=("r.example/shop/api",))}
    }
    docs = [
        obj("v1", "Pod", "p", spec=pod_spec("r.example/shop/api:1")),
        obj("apps/v1", "Deployment", "d", spec=copy.deepcopy(template)),
        obj("apps/v1", "StatefulSet", "s", spec=copy.deepcopy(template)),
        obj("apps/v1", "DaemonSet", "ds", spec=copy.deepcopy(template)),
        obj("apps/v1", "ReplicaSet", "rs", spec=copy.deepcopy(template)),
        obj("batch/v1", "Job", "j", spec=copy.deepcopy(template)),
        obj("batch/v1", "CronJob", "cj", spec={"jobTemplate": {"spec": copy.deepcopy(template)}}),
    ]
    before = copy.deepcopy(docs)
    out, matched = apply_images(docs, {"r.example/shop/api": new})
    assert matched == {"r.example/shop/api"}
    assert docs == before  # inputs untouched
    assert out[0].obj["spec"]["containers"][0]["image"] == new
    for doc in out[1:6]:
        spec = doc.obj["spec"]["template"]["spec"]
        assert [c["image"] for c in spec["initContainers"] + spec["containers"]] == [new, new]
    cron = out[6].obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert cron["containers"][0]["image"] == new


def test_only_matching_repositories_and_known_kinds_change() -> None:
    docs = [
        obj(
            "apps/v1",
            "Deployment",
            "d",
            spec={"template": {"spec": pod_spec("nginx:1", "r.example/api-extra:1")}},
        ),
        obj(
            "example.com/v1",
            "Deployment",
            "custom",
            spec={"template": {"spec": pod_spec("nginx:1")}},
        ),
        obj("v1", "ConfigMap", "c", data={"image": "nginx:1"}),
    ]
    out, matched = apply_images(
        docs, {"docker.io/library/nginx": "nginx:1.27", "r.example/api": "x:1"}
    )
    assert matched == {"docker.io/library/nginx"}
    containers = out[0].obj["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["nginx:1.27", "r.example/api-extra:1"]
    assert out[1] is docs[1] and out[2] is docs[2]


def test_namespace_injection_respects_scope() -> None:
    docs = [
        obj("v1", "ConfigMap", "cm"),
        obj("v1", "Secret", "kept", namespace="elsewhere"),
        obj("v1", "Namespace", "ns", namespace="bogus"),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr"),
        obj("example.com/v1", "Widget", "w"),  # unknown: treated as namespaced
        obj("example.com/v1", "ClusterWidget", "cw"),  # discovery says cluster-scoped
    ]

    def discovery(api_version: str, kind: str) -> bool | None:
        return {("example.com/v1", "ClusterWidget"): False, ("v1", "ConfigMap"): True}.get(
            (api_version, kind)
        )

    out = inject_namespace(docs, "shop-qa", discovery)
    assert [d.obj["metadata"].get("namespace") for d in out] == [
        "shop-qa",
        "elsewhere",
        None,
        None,
        "shop-qa",
        None,
    ]
    assert docs[0].obj["metadata"] == {"name": "cm"}  # inputs untouched


def test_order_namespaces_then_crds_then_kind_namespace_name() -> None:
    docs = [
        obj("v1", "Service", "b", namespace="x"),
        obj("apps/v1", "Deployment", "a", namespace="x"),
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "w.example.com"),
        obj("v1", "Service", "a", namespace="x"),
        obj("v1", "Namespace", "x"),
        obj("v1", "ConfigMap", "a", namespace="a"),
    ]
    names = [(d.obj["kind"], d.obj["metadata"]["name"]) for d in sort_documents(docs)]
    assert names == [
        ("Namespace", "x"),
        ("CustomResourceDefinition", "w.example.com"),
        ("ConfigMap", "a"),
        ("Deployment", "a"),
        ("Service", "a"),
        ("Service", "b"),
    ]
    assert sort_documents(list(reversed(docs))) == sort_documents(docs)


def test_duplicates_are_found_per_group_kind_namespace_name() -> None:
    a = obj("v1", "ConfigMap", "a", namespace="x")
    same = Document(copy.deepcopy(a.obj), "other.yaml")
    other_ns = obj("v1", "ConfigMap", "a", namespace="y")
    other_group = obj("example.com/v1", "ConfigMap", "a", namespace="x")
    assert find_duplicates([a, other_ns, other_group, same]) == [(a, same)]
