"""`deploy` per environment: the target, its section, per-app owners, the refused
strategies of a hand-off target."""

from __future__ import annotations

import pytest

from shiplane.config import ConfigError, load_project_text
from shiplane.config.models import FluxTargetConfig

PROJECT = """
apiVersion: shiplane/v1alpha1
project: shop
clusters: {c: {kubeconfig: ~/.kube/config}}
environments:
  dev: {cluster: c, namespace: dev}
  staging:
    cluster: c
    namespace: stg
    deploy:
      via: flux
      flux:
        gitRepository: flux-system/shop
        kustomization: flux-system/shop-staging
        timeout: 2m
        apps:
          api: {kustomization: flux-system/api-staging}
apps:
  web: {images: [r.example/web], manifests: {path: apps/web}}
  api: {images: [r.example/api], manifests: {path: apps/api}}
"""


def test_default_is_shiplane_and_flux_names_owners_per_app() -> None:
    project = load_project_text(PROJECT)
    assert project.environments["dev"].deploy.via == "shiplane"
    assert not project.environments["dev"].deploy.hands_off
    deploy = project.environments["staging"].deploy
    assert deploy.via == "flux" and deploy.hands_off
    spec = deploy.spec
    assert isinstance(spec, FluxTargetConfig)
    assert spec.timeout == 120
    assert spec.owner("web") == ("flux-system/shop", "flux-system/shop-staging")
    assert spec.owner("api") == ("flux-system/shop", "flux-system/api-staging")


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_project_text(text)
    return "\n".join(str(p) for p in info.value.problems)


def test_via_flux_needs_its_section_and_only_it() -> None:
    head = PROJECT.split("    deploy:")[0]
    tail = "apps:" + PROJECT.split("\napps:", 1)[1]
    assert "`via: flux` needs a `flux` section" in problems(
        head + "    deploy: {via: flux}\n" + tail
    )
    both = head + "    deploy: {via: shiplane, argocd: {application: argocd/shop}}\n" + tail
    assert "a `argocd` section is used only with `via: argocd`" in problems(both)


def test_a_bad_object_name_is_located() -> None:
    found = problems(PROJECT.replace("flux-system/shop-staging", "shop-staging"))
    assert (
        "shiplane.yaml:14:24: environments.staging.deploy.flux.kustomization" in found
        and "is not `namespace/name`" in found
    )


def test_an_unknown_app_in_the_owner_map_is_located() -> None:
    found = problems(PROJECT.replace("          api: {", "          apx: {"))
    assert "environments.staging.deploy.flux.apps.apx" in found


def test_a_canary_is_refused_for_a_hand_off_environment() -> None:
    found = problems(
        PROJECT.replace(
            "    deploy:\n", "    strategy: {canary: {steps: [{setWeight: 50}]}}\n    deploy:\n"
        )
    )
    assert "strategy 'canary' cannot run with `deploy.via: flux`" in found
    app_override = PROJECT.replace(
        "manifests: {path: apps/api}}",
        "manifests: {path: apps/api}, strategies: {staging: {blueGreen: {previewService: p}}}}",
    )
    assert "strategy 'blueGreen' cannot run with `deploy.via: flux`" in problems(app_override)
