"""Local-cluster add-ons: reading their manifests, where each object goes, when a CRD is
served, and the pinned files they are read from."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shiplane.localcluster import addons
from shiplane.localcluster.build import STAMP, component_dir, files_digest
from shiplane.localcluster.cluster import ClusterError
from shiplane.localcluster.components import GATEWAY_API_VERSION, component

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))

CRD_YAML = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: httproutes.gateway.networking.k8s.io
spec:
  group: gateway.networking.k8s.io
  names: {kind: HTTPRoute, plural: httproutes}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true}
  - {name: v1beta1, served: true, storage: false}
  - {name: v1alpha1, served: false, storage: false}
"""

POLICY_YAML = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: safe-upgrades.gateway.networking.k8s.io}
---

---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: safe-upgrades.gateway.networking.k8s.io}
"""


def test_manifests_skip_empty_documents() -> None:
    found = addons.load_manifests("vap.yaml", POLICY_YAML)
    assert [(m.kind, m.name, m.source) for m in found] == [
        ("ValidatingAdmissionPolicy", "safe-upgrades.gateway.networking.k8s.io", "vap.yaml"),
        ("ValidatingAdmissionPolicyBinding", "safe-upgrades.gateway.networking.k8s.io", "vap.yaml"),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- a\n- b\n", "x.yaml: a document is not a Kubernetes object"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "x.yaml: a document is not a Kubernetes object"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "x.yaml: a ConfigMap has no metadata"),
    ],
)
def test_manifests_that_are_not_objects_are_refused(text: str, error: str) -> None:
    with pytest.raises(ClusterError, match=re.escape(error)):
        addons.load_manifests("x.yaml", text)


def test_object_paths_of_known_kinds() -> None:
    crd, policy, binding = addons.load_manifests("crd.yaml", CRD_YAML) + addons.load_manifests(
        "v", POLICY_YAML
    )
    assert addons.object_path(crd) == (
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
        "httproutes.gateway.networking.k8s.io"
    )
    assert addons.object_path(policy).startswith(
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/"
    )
    assert "/validatingadmissionpolicybindings/" in addons.object_path(binding)


def test_an_unknown_kind_is_refused_not_guessed() -> None:
    (manifest,) = addons.load_manifests(
        "x.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
    )
    with pytest.raises(ClusterError, match=re.escape("x.yaml: add-ons cannot apply v1 Namespace")):
        addons.object_path(manifest)


def test_served_resources_leave_out_unserved_versions() -> None:
    (crd,) = addons.load_manifests("crd.yaml", CRD_YAML)
    assert addons.served_resources(crd.body) == {
        "gateway.networking.k8s.io/v1": "httproutes",
        "gateway.networking.k8s.io/v1beta1": "httproutes",
    }


def test_established_reads_the_condition() -> None:
    def crd(*conditions: tuple[str, str]) -> dict[str, object]:
        return {"status": {"conditions": [{"type": t, "status": s} for t, s in conditions]}}

    assert addons.is_established(crd(("NamesAccepted", "True"), ("Established", "True")))
    assert not addons.is_established(crd(("NamesAccepted", "True"), ("Established", "False")))
    assert not addons.is_established(crd(("NamesAccepted", "True")))
    assert not addons.is_established({})


def test_aggregated_discovery_lists_group_version_resources() -> None:
    document = {
        "kind": "APIGroupDiscoveryList",
        "items": [
            {
                "metadata": {"name": "gateway.networking.k8s.io"},
                "versions": [
                    {"version": "v1", "resources": [{"resource": "httproutes"}]},
                    {"version": "v1beta1", "resources": [{"resource": "gateways"}]},
                ],
            },
            {"metadata": {"name": "apps"}, "versions": [{"version": "v1"}]},
        ],
    }
    assert addons.aggregated_resources(document) == {
        "gateway.networking.k8s.io/v1/httproutes",
        "gateway.networking.k8s.io/v1beta1/gateways",
    }
    assert addons.aggregated_resources({}) == set()


def test_resolve_keeps_order_once_and_names_the_known_addons() -> None:
    assert [a.name for a in addons.resolve(["gateway-api", "gateway-api"])] == ["gateway-api"]
    assert addons.resolve([]) == []
    with pytest.raises(ClusterError, match="unknown add-on 'istio'; known: gateway-api"):
        addons.resolve(["gateway-api", "istio"])


def test_gateway_api_addon_is_the_pinned_component() -> None:
    addon = addons.ADDONS["gateway-api"]
    target = component(addon.component)
    assert addon.version == target.version == GATEWAY_API_VERSION
    (files,) = target.module_files
    assert (files.module, files.paths, files.into) == (
        "sigs.k8s.io/gateway-api",
        ("config/crd/standard/*.yaml",),
        addon.directory,
    )
    assert len(files.sha256) == 64, "the standard-channel files must be pinned by digest"


def test_files_digest_covers_names_and_contents(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n")
    (tmp_path / "b.yaml").write_text("b: 2\n")
    first = files_digest(tmp_path)
    assert first == files_digest(tmp_path)
    (tmp_path / "b.yaml").write_text("b: 3\n")
    changed = files_digest(tmp_path)
    (tmp_path / "b.yaml").rename(tmp_path / "c.yaml")
    renamed = files_digest(tmp_path)
    assert len({first, changed, renamed}) == 3


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHIPLANE_BIN_DIR", str(tmp_path / "bin"))
    return tmp_path / "bin"


def _fake_build(files: dict[str, str]) -> Path:
    """A cache entry of the gateway-api component holding `files` (name -> text)."""
    entry = component_dir(component("gateway-api"))
    (entry / "crds").mkdir(parents=True)
    for name, text in files.items():
        (entry / "crds" / name).write_text(text)
    (entry / STAMP).write_text(json.dumps({"component": "gateway-api"}) + "\n")
    return entry


def test_an_unbuilt_addon_says_to_build(bin_dir: Path) -> None:
    with pytest.raises(ClusterError, match="run `shiplane localcluster build` first"):
        addons.read_addon(addons.ADDONS["gateway-api"])


def test_files_that_are_not_the_pinned_ones_are_refused(bin_dir: Path) -> None:
    entry = _fake_build({"crd.yaml": CRD_YAML})
    with pytest.raises(ClusterError, match="not the pinned ones of gateway-api-") as refused:
        addons.read_addon(addons.ADDONS["gateway-api"])
    assert f"remove {entry} and run" in str(refused.value)


def test_unknown_addon_is_refused_before_anything_starts(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPLANE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [SHIPLANE, "localcluster", "up", "never", "--with", "istio"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "unknown add-on 'istio'; known: gateway-api" in done.stderr
    assert not (tmp_path / "home" / "clusters").exists()
