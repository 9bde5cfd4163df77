"""Apply and prune order of Kubernetes objects (pure; no I/O).

Stage 0 holds what other objects need to exist before they can even be validated:
Namespaces, then CustomResourceDefinitions. Stage 1 is everything else in Helm's install
order (the order Argo CD also uses inside a wave): policies and quotas, ServiceAccounts,
Secrets, ConfigMaps, storage, RBAC, Services, then workloads, then ingress and webhooks.
Kinds the table does not know (custom resources) come last. Ties are broken by namespace
and name, so the order is stable for any input order. Prune uses the exact reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from shiplane.kube.refs import ObjRef

NAMESPACE = ("", "Namespace")
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")

# (group, kind) in install order. Keyed by group too: a custom resource named `Service` in
# another API group is not a core Service.
INSTALL_ORDER: tuple[tuple[str, str], ...] = (
    NAMESPACE,
    CRD,
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("policy", "PodSecurityPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("", "ServiceAccount"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("storage.k8s.io", "StorageClass"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("", "Pod"),
    ("", "ReplicationController"),
    ("apps", "ReplicaSet"),
    ("apps", "Deployment"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "Ingress"),
    ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
)
_RANK = {key: index for index, key in enumerate(INSTALL_ORDER)}
UNKNOWN_RANK = len(INSTALL_ORDER)
STAGE_KINDS = frozenset({NAMESPACE, CRD})

T = TypeVar("T")


def group_of(api_version: str) -> str:
    """The API group of an apiVersion: "" for the core group ("v1")."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def version_of(api_version: str) -> str:
    return api_version.split("/", 1)[1] if "/" in api_version else api_version


def identity(ref: ObjRef) -> tuple[str, str, str, str]:
    """group/kind/namespace/name: the same object whatever apiVersion it is addressed by
    (apps/v1beta2 and apps/v1 Deployments with one name are one object)."""
    return (ref.group, ref.kind, ref.namespace, ref.name)


def is_stage0(ref: ObjRef) -> bool:
    """Namespaces and CRDs, applied (and awaited) before anything else."""
    return (ref.group, ref.kind) in STAGE_KINDS


def kind_rank(ref: ObjRef) -> int:
    return _RANK.get((ref.group, ref.kind), UNKNOWN_RANK)


def apply_key(ref: ObjRef) -> tuple[int, int, str, str, str]:
    """Sort key of the apply order: stage, kind rank, namespace, name, apiVersion."""
    return (0 if is_stage0(ref) else 1, kind_rank(ref), ref.namespace, ref.name, ref.api_version)


def apply_order(refs: Iterable[ObjRef]) -> list[ObjRef]:
    return sorted(refs, key=apply_key)


def prune_order(refs: Iterable[ObjRef]) -> list[ObjRef]:
    """Reverse apply order: custom resources and workloads first, Namespaces/CRDs last."""
    return sorted(refs, key=apply_key, reverse=True)


def phase_key(ref: ObjRef) -> tuple[int, int]:
    """Objects with equal phase keys may be sent concurrently; phases go one by one."""
    return (0 if is_stage0(ref) else 1, kind_rank(ref))


def runs(items: Sequence[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """Split sorted `items` into consecutive runs of equal `key`."""
    out: list[list[T]] = []
    previous: Hashable = object()
    for item in items:
        current = key(item)
        if not out or current != previous:
            out.append([])
        out[-1].append(item)
        previous = current
    return out
