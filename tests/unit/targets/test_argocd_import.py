"""`shiplane import argocd`: environments and apps proposed from Applications, and the
path rules it shares with `import flux`."""

from __future__ import annotations

from typing import Any

import yaml

from shiplane.config import load_project_text
from shiplane.targets.argocd_import import place, propose
from shiplane.targets.import_paths import dns_name, place_path


def app(name: str, path: str, *, namespace: str = "shop-stg", **source: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/shop.git", "path": path,
                       "targetRevision": "main", **source},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        },
    }  # fmt: skip


def test_paths_name_the_environment_and_the_app() -> None:
    assert place_path("./envs/staging/web/", fallback_environment="x", name="n") == (
        place_path("envs/staging/web", fallback_environment="y", name="m")
    )
    where = place_path("./envs/staging/web/", fallback_environment="x", name="n")
    assert (where.environment, where.app, where.path) == ("staging", "web", "envs/staging/web")
    overlay = place_path("apps/api/overlays/prod", fallback_environment="x", name="n")
    assert (overlay.environment, overlay.app) == ("prod", "api")
    # No environment folder: the fallback, and the name without the environment affix.
    bare = place_path(".", fallback_environment="dev", name="web-dev")
    assert (bare.environment, bare.app, bare.path) == ("dev", "web", ".")
    assert dns_name("Shop_Web") == "shop-web" and dns_name("___") == "app"


def test_an_application_is_placed_by_its_path_else_its_destination_namespace() -> None:
    found = place(app("web-staging", "envs/staging/web", kustomize={"namePrefix": "x-"}))
    assert found is not None
    assert (found.environment, found.app, found.namespace) == ("staging", "web", "shop-stg")
    assert (found.application, found.render) == ("argocd/web-staging", "kustomize")
    other = place(app("pay", "charts/pay", namespace="dev", helm={"valueFiles": ["dev.yaml"]}))
    assert other is not None and (other.environment, other.app, other.render) == (
        "dev",
        "pay",
        "helm",
    )
    assert place(app("plain", "deploy", namespace="qa")).render == "plain"  # type: ignore[union-attr]


def test_several_sources_or_a_helm_repository_chart_are_not_proposed() -> None:
    multi = app("m", "x")
    multi["spec"]["sources"] = [multi["spec"].pop("source"), {"repoURL": "y", "chart": "c"}]
    chart = app("c", "", chart="redis")
    assert place(multi) is None and place(chart) is None
    text = propose([multi, chart], cluster="c", kubeconfig="k", context=None)
    assert "# Application argocd/c: not proposed" in text
    assert "# Application argocd/m: not proposed" in text
    assert yaml.safe_load(text)["environments"] == {}


def test_the_proposal_is_a_valid_shiplane_yaml_once_completed() -> None:
    text = propose(
        [
            app("web-staging", "envs/staging/web"),
            app("api-staging", "envs/staging/api"),
            app("web-prod", "envs/prod/web", namespace="shop"),
        ],
        cluster="nonprod",
        kubeconfig="~/.kube/config",
        context="kind-nonprod",
    )
    assert text.startswith("# Proposed by `shiplane import argocd`")
    assert "# Application argocd/web-prod: https://git.example/shop.git main envs/prod/web" in text
    doc = yaml.safe_load(text)
    assert doc["clusters"] == {
        "nonprod": {"kubeconfig": "~/.kube/config", "context": "kind-nonprod"}
    }
    staging = doc["environments"]["staging"]
    assert staging["namespace"] == "shop-stg"
    assert staging["deploy"] == {
        "via": "argocd",
        "argocd": {
            "apps": {
                "api": {"application": "argocd/api-staging"},
                "web": {"application": "argocd/web-staging"},
            }
        },
    }
    assert doc["apps"]["web"]["manifests"] == {"path": "envs/prod/web", "render": "plain"}
    for entry in doc["apps"].values():
        entry["images"] = ["registry.example/shop/app"]
    full = {"apiVersion": "shiplane/v1alpha1", "project": "shop", **doc}
    project = load_project_text(yaml.safe_dump(full))
    assert project.environments["prod"].deploy.via == "argocd"
