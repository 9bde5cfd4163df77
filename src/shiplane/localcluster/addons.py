"""Add-ons a local cluster gets on top of its control plane: `localcluster up NAME --with X`.

One add-on so far, `gateway-api`: the Gateway API standard-channel manifests (its CRDs and
the upstream safe-upgrades admission policy shipped beside them), which `shiplane
localcluster build` takes from the pinned Go module. Installing applies them server-side and
waits until every CRD is Established and its resources are listed by API discovery, so a
client can create an HTTPRoute as soon as `up` returns. Re-installing is a no-op apply.
Nothing runs behind the CRDs (no Gateway controller): the objects are stored and validated,
and no traffic flows on these clusters anyway (pods are simulated by kwok).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

from shiplane.localcluster.build import component_dir, files_digest, is_built
from shiplane.localcluster.cluster import ClusterError, ClusterState
from shiplane.localcluster.components import component
from shiplane.localcluster.kubeapi import KubeAPI

Progress = Callable[[str], None]

# libyaml when present: the Gateway API CRDs are 1.2 MB, ten times faster to read in C.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CRD_API_VERSION = "apiextensions.k8s.io/v1"
AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
# Where each kind an add-on may ship lives; all are cluster-scoped. A kind outside this
# table is refused instead of guessed.
PLURALS: dict[tuple[str, str], str] = {
    (CRD_API_VERSION, "CustomResourceDefinition"): "customresourcedefinitions",
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): (
        "validatingadmissionpolicies"
    ),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        "validatingadmissionpolicybindings"
    ),
}


@dataclass(frozen=True)
class Addon:
    name: str
    description: str
    component: str  # the build component whose files are applied
    directory: str  # the sub-directory of that component's cache entry holding them

    @property
    def files_dir(self) -> Path:
        return component_dir(component(self.component)) / self.directory

    @property
    def version(self) -> str:
        return component(self.component).version


ADDONS: dict[str, Addon] = {
    a.name: a
    for a in (Addon("gateway-api", "Gateway API standard-channel CRDs", "gateway-api", "crds"),)
}


@dataclass(frozen=True)
class Manifest:
    """One object of an add-on, with the file it came from (for error messages)."""

    source: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


def resolve(names: Sequence[str]) -> list[Addon]:
    """The add-ons named, in order, each once; ClusterError naming the known ones."""
    unknown = [n for n in names if n not in ADDONS]
    if unknown:
        known = ", ".join(sorted(ADDONS))
        raise ClusterError(f"unknown add-on {unknown[0]!r}; known: {known}")
    return [ADDONS[n] for n in dict.fromkeys(names)]


def load_manifests(source: str, text: str) -> list[Manifest]:
    """The objects of one multi-document YAML file; empty documents are skipped."""
    found: list[Manifest] = []
    for doc in yaml.load_all(text, Loader=_Loader):
        if doc is None:
            continue
        if not isinstance(doc, dict) or not all(k in doc for k in ("apiVersion", "kind")):
            raise ClusterError(f"{source}: a document is not a Kubernetes object")
        if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
            raise ClusterError(f"{source}: a {doc['kind']} has no metadata.name")
        found.append(Manifest(source, doc))
    return found


def object_path(manifest: Manifest) -> str:
    """The API path of a (cluster-scoped) object; ClusterError for a kind not in PLURALS."""
    api_version = str(manifest.body["apiVersion"])
    plural = PLURALS.get((api_version, manifest.kind))
    if plural is None:
        raise ClusterError(
            f"{manifest.source}: add-ons cannot apply {api_version} {manifest.kind} "
            f"{manifest.name!r} (known kinds: {', '.join(k for _, k in PLURALS)})"
        )
    return f"/apis/{api_version}/{plural}/{manifest.name}"


def served_resources(crd: dict[str, Any]) -> dict[str, str]:
    """`group/version` -> plural for every version a CRD serves (what discovery must list)."""
    spec = crd["spec"]
    return {
        f"{spec['group']}/{v['name']}": str(spec["names"]["plural"])
        for v in spec["versions"]
        if v.get("served")
    }


def aggregated_resources(discovery: dict[str, Any]) -> set[str]:
    """`group/version/plural` of every resource in an aggregated discovery document
    (APIGroupDiscoveryList, what `/apis` answers to AGGREGATED_ACCEPT)."""
    found: set[str] = set()
    for group in discovery.get("items") or []:
        name = (group.get("metadata") or {}).get("name", "")
        for version in group.get("versions") or []:
            for resource in version.get("resources") or []:
                found.add(f"{name}/{version.get('version')}/{resource.get('resource')}")
    return found


def is_established(crd: dict[str, Any]) -> bool:
    for cond in crd.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Established":
            return bool(cond.get("status") == "True")
    return False


def read_addon(addon: Addon) -> list[Manifest]:
    """An add-on's manifests from the binary cache, after checking they are the pinned ones."""
    target = component(addon.component)
    directory = addon.files_dir
    if not is_built(target) or not directory.is_dir():
        raise ClusterError(
            f"add-on {addon.name} needs {target.key}, which is not built (expected at "
            f"{directory}); run `shiplane localcluster build` first (it takes the files from "
            "the pinned Go module)"
        )
    pinned = next((f.sha256 for f in target.module_files if f.into == addon.directory), "")
    if pinned and files_digest(directory) != pinned:
        raise ClusterError(
            f"the files in {directory} are not the pinned ones of {target.key}; remove "
            f"{directory.parent} and run `shiplane localcluster build` again"
        )
    manifests: list[Manifest] = []
    for path in sorted(directory.glob("*.yaml")):
        manifests += load_manifests(path.name, path.read_text())
    return manifests


def install(
    state: ClusterState,
    addons: Sequence[Addon],
    *,
    timeout: float = 60.0,
    progress: Progress = print,
) -> None:
    """Apply each add-on to a running cluster and wait until its APIs are served."""
    api = KubeAPI.from_kubeconfig(state.kubeconfig)
    try:
        for addon in addons:
            _install_one(api, state, addon, timeout, progress)
    finally:
        api.close()


def _install_one(
    api: KubeAPI, state: ClusterState, addon: Addon, timeout: float, progress: Progress
) -> None:
    started = time.monotonic()
    manifests = read_addon(addon)
    crds = [m for m in manifests if m.kind == "CustomResourceDefinition"]
    progress(
        f"installing add-on {addon.name} {addon.version} "
        f"({len(crds)} CRDs, {len(manifests) - len(crds)} other objects)"
    )
    for manifest in manifests:
        try:
            api.apply(object_path(manifest), manifest.body)
        except httpx.HTTPStatusError as exc:
            raise ClusterError(
                f"applying {manifest.kind} {manifest.name!r} from {manifest.source} to cluster "
                f"{state.name!r} failed: {exc.response.status_code} {exc.response.text[:500]}"
            ) from None
    deadline = time.monotonic() + timeout
    for crd in crds:
        established = partial(_is_established_at, api, object_path(crd))
        _wait(f"CRD {crd.name} to be Established", deadline, state, established)
    wanted: dict[str, set[str]] = {}
    for crd in crds:
        for group_version, plural in served_resources(crd.body).items():
            wanted.setdefault(group_version, set()).add(plural)
    for group_version, plurals in sorted(wanted.items()):
        _wait(
            f"discovery to list {group_version} {', '.join(sorted(plurals))}",
            deadline,
            state,
            partial(_served, api, group_version, plurals),
        )
    took = time.monotonic() - started
    progress(f"add-on {addon.name} ready in {took:.1f}s: {len(crds)} CRDs Established and served")


def _is_established_at(api: KubeAPI, path: str) -> bool:
    crd = api.get(path)
    return crd is not None and is_established(crd)


def _served(api: KubeAPI, group_version: str, plurals: set[str]) -> bool:
    # Both discovery forms, each updated on its own: kubectl and Shiplane's engine read the
    # aggregated `/apis`, clients without aggregated discovery the group version's list.
    listing = api.get(f"/apis/{group_version}")
    if not plurals <= {r.get("name") for r in (listing or {}).get("resources", [])}:
        return False
    aggregated = aggregated_resources(api.get("/apis", accept=AGGREGATED_ACCEPT) or {})
    return {f"{group_version}/{p}" for p in plurals} <= aggregated


def _wait(what: str, deadline: float, state: ClusterState, check: Callable[[], bool]) -> None:
    last_error = ""
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError as exc:
            last_error = str(exc)
        time.sleep(0.05)
    raise ClusterError(
        f"timed out waiting for {what} in cluster {state.name!r}"
        + (f" (last error: {last_error})" if last_error else "")
    )
