"""`shiplane import flux`: environments and apps proposed from Kustomizations."""

from __future__ import annotations

from typing import Any

import yaml

from shiplane.config import load_project_text
from shiplane.targets.flux_import import place, propose


def kustomization(name: str, path: str, *, namespace: str = "flux-system",
                  target: str | None = None, source: str = "shop") -> dict[str, Any]:  # fmt: skip
    spec: dict[str, Any] = {"path": path, "sourceRef": {"kind": "GitRepository", "name": source}}
    if target:
        spec["targetNamespace"] = target
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_environment_and_app_from_the_path() -> None:
    found = place(kustomization("web-staging", "./envs/staging/web", target="shop-stg"))
    assert found is not None
    assert (found.environment, found.app, found.namespace) == ("staging", "web", "shop-stg")
    assert found.kustomization == "flux-system/web-staging"
    assert found.git_repository == "flux-system/shop"
    overlay = place(kustomization("api-prod", "./apps/api/overlays/prod"))
    assert overlay is not None and (overlay.environment, overlay.app) == ("prod", "api")


def test_without_an_environment_directory_the_target_namespace_and_name_decide() -> None:
    found = place(kustomization("shop-dev", "./deploy", target="dev"))
    assert found is not None and (found.environment, found.app) == ("dev", "deploy")
    bucket = {
        "metadata": {"name": "x", "namespace": "f"},
        "spec": {"sourceRef": {"kind": "Bucket"}},
    }
    assert place(bucket) is None


def test_the_proposal_is_a_valid_shiplane_yaml_once_completed() -> None:
    spec = {"url": "https://git.example/shop.git", "ref": {"branch": "main"}}
    repos = [{"metadata": {"name": "shop", "namespace": "flux-system"}, "spec": spec}]
    text = propose(
        [
            kustomization("web-staging", "./envs/staging/web", target="shop-stg"),
            kustomization("api-staging", "./envs/staging/api", target="shop-stg"),
            kustomization("web-prod", "./envs/prod/web", target="shop"),
        ],
        repos,
        cluster="nonprod",
        kubeconfig="~/.kube/config",
        context="kind-nonprod",
    )
    assert text.startswith("# Proposed by `shiplane import flux`")
    assert "# GitRepository flux-system/shop: https://git.example/shop.git main" in text
    doc = yaml.safe_load(text)
    staging = doc["environments"]["staging"]
    assert staging["deploy"]["flux"] == {
        "gitRepository": "flux-system/shop",
        "apps": {
            "api": {"kustomization": "flux-system/api-staging"},
            "web": {"kustomization": "flux-system/web-staging"},
        },
    }
    # The app's path is that of its first environment (by name), for a person to check.
    assert doc["apps"]["web"]["manifests"] == {"path": "envs/prod/web", "render": "kustomize"}
    # Completed by a person (images), it loads as a project.
    for app in doc["apps"].values():
        app["images"] = ["registry.example/shop/app"]
    full = {"apiVersion": "shiplane/v1alpha1", "project": "shop", **doc}
    project = load_project_text(yaml.safe_dump(full))
    assert project.environments["prod"].deploy.via == "flux"
