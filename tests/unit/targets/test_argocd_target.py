"""The argocd target's pure rules: which Application owns an app, where the pin commit
writes the app's objects, and what keeps an Application from applying them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shiplane.config.models import ArgoCDTargetConfig, FluxTargetConfig
from shiplane.targets import TARGETS
from shiplane.targets.argocd import ArgoCDTarget, source_problems
from shiplane.targets.base import TargetConfigError, TargetObject

CONFIG = ArgoCDTargetConfig.model_validate(
    {"application": "argocd/shop-staging", "apps": {"pay": {"application": "payments/pay"}}}
)
OWNER = TargetObject("Application", "argocd", "shop-staging")


def test_registered_as_argocd_with_its_schema_running_rolling_only() -> None:
    entry = TARGETS.get("argocd")
    assert isinstance(entry.plugin, ArgoCDTarget)
    assert not entry.plugin.own_sync
    assert entry.plugin.strategies == frozenset({"rolling"})


def test_an_app_is_owned_by_its_own_application_else_the_environments() -> None:
    target = ArgoCDTarget()
    assert target.owners(CONFIG, "web") == (OWNER,)
    assert target.owners(CONFIG, "pay") == (TargetObject("Application", "payments", "pay"),)
    only_apps = ArgoCDTargetConfig.model_validate({"apps": {"pay": {"application": "a/pay"}}})
    assert target.owners(only_apps, "web") == ()


def test_another_targets_section_is_refused() -> None:
    flux = FluxTargetConfig.model_validate(
        {"gitRepository": "flux-system/shop", "kustomization": "flux-system/shop"}
    )
    with pytest.raises(TargetConfigError, match="expected an argocd section"):
        ArgoCDTarget().owners(flux, "web")


def test_the_pin_commit_writes_the_rendered_objects_where_the_application_reads() -> None:
    where = ArgoCDTarget().hydration("staging", "web")
    assert where is not None and where.path == "rendered/staging/web/manifests.yaml"


@pytest.mark.parametrize("path", ["rendered/staging/web", "./rendered/staging/web/"])
def test_an_application_of_the_apps_rendered_directory_fits(path: str) -> None:
    application = {"spec": {"source": {"repoURL": "https://git.example/shop", "path": path}}}
    assert source_problems(application, OWNER, "staging", "web") == []


def test_an_application_of_the_environments_directory_must_recurse() -> None:
    source = {"repoURL": "https://git.example/shop", "path": "./rendered/staging"}
    (problem,) = source_problems({"spec": {"source": source}}, OWNER, "staging", "web")
    assert problem == (
        "Application argocd/shop-staging applies ./rendered/staging without "
        "spec.source.directory.recurse: true, so it never reads "
        "./rendered/staging/web/manifests.yaml"
    )
    recursing = {**source, "directory": {"recurse": True}}
    assert source_problems({"spec": {"source": recursing}}, OWNER, "staging", "web") == []


def test_an_application_of_another_path_is_named_with_the_path_to_use() -> None:
    application = {"spec": {"source": {"path": "apps/web"}}}
    (problem,) = source_problems(application, OWNER, "staging", "web")
    assert problem == (
        "Application argocd/shop-staging applies path 'apps/web'; Shiplane writes app 'web' to "
        "./rendered/staging/web (or name ./rendered/staging for every app)"
    )


def test_a_multi_source_application_is_refused() -> None:
    application = {"spec": {"sources": [{"path": "rendered/staging/web"}, {"chart": "x"}]}}
    (problem,) = source_problems(application, OWNER, "staging", "web")
    assert "has several sources" in problem


def test_an_argocd_section_names_at_least_one_application() -> None:
    with pytest.raises(ValidationError, match="name an `application`"):
        ArgoCDTargetConfig.model_validate({"timeout": "1m"})
