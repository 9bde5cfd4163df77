"""Post-processing of rendered objects: pinned images, namespace, duplicates, order. Pure.

No I/O here: these functions take documents and return new ones (inputs are never
mutated), so the whole pipeline stays a function of its inputs and is unit-tested
without binaries.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shiplane.gitops.renderers.context import Document

IsNamespaced = Callable[[str, str], bool | None]

# (API group, kind) of well-known cluster-scoped kinds; used when discovery does not
# know a kind (for example a CRD created by this very render).
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("resource.k8s.io", "DeviceClass"),
        ("policy", "PodSecurityPolicy"),
    }
)

# Where the pod spec sits, per (group, kind). Groups are checked so that a custom
# resource that happens to be called "Deployment" is left alone.
_POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("extensions", "Deployment"): ("spec", "template", "spec"),
    ("extensions", "DaemonSet"): ("spec", "template", "spec"),
    ("extensions", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONTAINER_LISTS = ("initContainers", "containers")

_FIRST_KINDS = {("", "Namespace"): 0, ("apiextensions.k8s.io", "CustomResourceDefinition"): 1}


def api_group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


# --- images ---------------------------------------------------------------------------


def image_name(image: str) -> str:
    """The repository part of an image reference: no tag, no digest."""
    name = image.split("@", 1)[0]
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name = name[:colon]
    return name


def normalise_repository(name: str) -> str:
    """Docker Hub's implicit registry and `library/` made explicit, so `nginx` and
    `docker.io/library/nginx` compare equal; other names unchanged."""
    first, sep, rest = name.partition("/")
    is_registry = sep and ("." in first or ":" in first or first == "localhost")
    if not is_registry:
        first, rest = "docker.io", name
    if first in {"index.docker.io", "registry-1.docker.io"}:
        first = "docker.io"
    if first == "docker.io" and "/" not in rest:
        rest = f"library/{rest}"
    return f"{first}/{rest}"


def apply_images(
    docs: Sequence[Document], images: Mapping[str, str]
) -> tuple[list[Document], set[str]]:
    """Replace container images whose repository is a key of `images` by its value.

    Like kustomize's `images` transformer, matching is on the repository alone: the
    tag or digest written in the manifest is irrelevant. Returns the new documents and
    the keys of `images` that matched at least one container.
    """
    wanted = {normalise_repository(repo): repo for repo in images}
    matched: set[str] = set()
    out: list[Document] = []
    for doc in docs:
        path = _POD_SPEC_PATHS.get((api_group(doc.obj["apiVersion"]), doc.obj["kind"]))
        pod_spec = _dig(doc.obj, path) if path else None
        if pod_spec is None:
            out.append(doc)
            continue
        obj = copy.deepcopy(doc.obj)
        pod_spec = _dig(obj, path or ())
        assert pod_spec is not None
        for list_name in _CONTAINER_LISTS:
            containers = pod_spec.get(list_name)
            if not isinstance(containers, list):
                continue
            for container in containers:
                image = container.get("image") if isinstance(container, dict) else None
                if not isinstance(image, str):
                    continue
                repo = wanted.get(normalise_repository(image_name(image)))
                if repo is not None:
                    container["image"] = images[repo]
                    matched.add(repo)
        out.append(Document(obj, doc.source))
    return out, matched


def _dig(obj: dict[str, Any], path: Sequence[str]) -> dict[str, Any] | None:
    current: Any = obj
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current if isinstance(current, dict) else None


# --- namespace ------------------------------------------------------------------------


def namespaced(api_version: str, kind: str, is_namespaced: IsNamespaced) -> bool:
    """Discovery's answer, else the table of well-known cluster-scoped kinds."""
    known = is_namespaced(api_version, kind)
    if known is not None:
        return known
    return (api_group(api_version), kind) not in CLUSTER_SCOPED


def inject_namespace(
    docs: Sequence[Document], namespace: str, is_namespaced: IsNamespaced
) -> list[Document]:
    """Set `metadata.namespace` on namespaced objects that have none; drop it from
    cluster-scoped ones (the API server would reject the mismatch).

    An explicit namespace in a manifest is kept: a chart may deliberately put an object
    elsewhere, and the server-side dry-run checks the permissions for it.
    """
    out: list[Document] = []
    for doc in docs:
        meta = doc.obj.get("metadata") or {}
        scoped = namespaced(doc.obj["apiVersion"], doc.obj["kind"], is_namespaced)
        if scoped and not meta.get("namespace"):
            obj = copy.deepcopy(doc.obj)
            obj.setdefault("metadata", {})["namespace"] = namespace
            out.append(Document(obj, doc.source))
        elif not scoped and "namespace" in meta:
            obj = copy.deepcopy(doc.obj)
            del obj["metadata"]["namespace"]
            out.append(Document(obj, doc.source))
        else:
            out.append(doc)
    return out


# --- identity and order ---------------------------------------------------------------


def object_key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(group, kind, namespace, name): the identity of an object in a cluster."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or ""
    return (api_group(obj["apiVersion"]), obj["kind"], meta.get("namespace") or "", name)


def find_duplicates(docs: Iterable[Document]) -> list[tuple[Document, Document]]:
    """Pairs (first, later) of documents that describe the same object."""
    seen: dict[tuple[str, str, str, str], Document] = {}
    pairs: list[tuple[Document, Document]] = []
    for doc in docs:
        if not (doc.obj.get("metadata") or {}).get("name"):
            continue  # generateName objects are distinct by construction
        key = object_key(doc.obj)
        if key in seen:
            pairs.append((seen[key], doc))
        else:
            seen[key] = doc
    return pairs


def sort_key(obj: Mapping[str, Any]) -> tuple[int, str, str, str, str]:
    group, kind, ns, name = object_key(obj)
    return (_FIRST_KINDS.get((group, kind), 2), kind, group, ns, name)


def sort_documents(docs: Sequence[Document]) -> list[Document]:
    """Namespaces, then CRDs, then everything by kind, group, namespace and name.

    `sorted` is stable, so objects with equal keys (generateName) keep render order.
    """
    return sorted(docs, key=lambda d: sort_key(d.obj))
