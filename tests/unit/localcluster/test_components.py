"""The pinned components: what is built by default, what only when asked, and how a
module built from its own source (Gitea, Argo CD and its nested gitops-engine) stays
pinned by the wrapper's go.sum."""

from __future__ import annotations

import re

import pytest

from shiplane.localcluster import build, components
from shiplane.localcluster.components import (
    COMPONENTS,
    OPTIONAL_COMPONENTS,
    Component,
    component,
    optional_component,
    optional_components,
)


def test_gitea_is_built_only_when_asked() -> None:
    assert "gitea" not in {c.name for c in COMPONENTS}
    gitea = optional_component("gitea")
    assert component("gitea") is gitea
    assert gitea.version == "v1.27.3"


def test_a_default_component_is_not_optional() -> None:
    with pytest.raises(KeyError, match="optional: gitea"):
        optional_component("kwok")


def test_gitea_builds_from_its_source_with_sqlite_and_its_static_files() -> None:
    gitea = optional_component("gitea")
    assert gitea.source_module == "code.gitea.io/gitea"
    assert gitea.cgo and {"sqlite", "sqlite_unlock_notify"} <= set(gitea.tags)
    # Without the bindata tag these are read from STATIC_ROOT_PATH at run time.
    assert {"options", "templates"} <= set(gitea.source_dirs)


@pytest.mark.parametrize("c", [c for c in OPTIONAL_COMPONENTS if c.source_module])
def test_a_source_module_is_pinned_by_its_zip_hash(c: Component) -> None:
    assert c.source_module
    pinned = build._pinned_sum(c, c.source_module)
    assert pinned.startswith("h1:")
    gosum = (c.gomod_dir / "go.sum").read_text()
    assert f"{c.source_module} {c.version} {pinned}" in gosum
    required = re.compile(rf"^(require )?\s*{re.escape(c.source_module)} {c.version}$", re.M)
    assert required.search((c.gomod_dir / "go.mod").read_text())


def test_cgo_is_on_only_for_a_component_that_asks() -> None:
    assert build._go_env()["CGO_ENABLED"] == "0"
    with_cgo = build._go_env(cgo=True)
    assert with_cgo["CGO_ENABLED"] == "1"
    assert with_cgo["GOFLAGS"] == "-mod=readonly" and with_cgo["GOTOOLCHAIN"] == "local"


def test_with_flux_builds_both_controllers_at_the_pinned_version() -> None:
    flux = optional_components("flux")
    assert [c.name for c in flux] == ["flux-source-controller", "flux-kustomize-controller"]
    assert {c.version for c in flux} == {"v1.9.6"}
    assert not {c.name for c in flux} & {c.name for c in COMPONENTS}


def test_one_optional_component_is_its_own_group() -> None:
    assert optional_components("gitea") == (optional_component("gitea"),)
    with pytest.raises(KeyError, match="optional: flux, gitea"):
        optional_components("kwok")


@pytest.mark.parametrize("c", optional_components("flux"), ids=lambda c: c.name)
def test_a_flux_controller_builds_from_its_source_with_its_api_module_and_crds(
    c: Component,
) -> None:
    assert c.source_module is not None
    assert c.source_module.startswith("github.com/fluxcd/")
    # Its go.mod says `replace <module>/api => ./api`; the zip has no api/ folder.
    assert c.nested_modules == ((f"{c.source_module}/api", "api"),)
    assert build._pinned_sum(c, f"{c.source_module}/api").startswith("h1:")
    assert not c.cgo
    (crds,) = c.module_files
    assert crds.module == c.source_module and crds.into == "crds"
    assert crds.paths == ("config/crd/bases/*.yaml",)


def test_argocd_is_built_only_when_asked_from_its_source_with_its_engine() -> None:
    argocd = optional_component("argocd")
    assert "argocd" not in {c.name for c in COMPONENTS}
    assert argocd.version == components.ARGOCD_VERSION == "v3.5.8"
    assert argocd.source_module == "github.com/argoproj/argo-cd/v3"
    # One multi-call binary from ./cmd, static like Argo CD's own release builds.
    assert [(b.name, b.package) for b in argocd.binaries] == [("argocd", "./cmd")]
    assert not argocd.cgo
    # Its go.mod says `replace .../gitops-engine => ./gitops-engine`, a nested module its
    # zip leaves out: the wrapper's replace by a version stands in (carried in at build).
    assert argocd.nested_modules == ()
    assert [f.into for f in argocd.module_files] == ["crds", "scripts"]


def test_argocd_engine_is_pinned_by_the_wrappers_replace_and_go_sum() -> None:
    argocd = optional_component("argocd")
    engine = "github.com/argoproj/argo-cd/gitops-engine"
    gomod = (argocd.gomod_dir / "go.mod").read_text()
    assert f"{engine} => {engine} {components.ARGOCD_GITOPS_ENGINE_VERSION}" in gomod
    assert build._pinned_sum(argocd, engine).startswith("h1:")
    gosum = (argocd.gomod_dir / "go.sum").read_text()
    assert f"{engine} {components.ARGOCD_GITOPS_ENGINE_VERSION} h1:" in gosum
    assert f"{engine} {components.ARGOCD_GITOPS_ENGINE_VERSION}/go.mod h1:" in gosum
