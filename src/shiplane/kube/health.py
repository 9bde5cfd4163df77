"""Health as data: pure rules over live objects given as plain dicts (no I/O).

Follows kstatus (Flux) and Argo CD's per-kind rules (reference notes, part b). Every rule
starts with the generic checks: an object being deleted is Progressing, and a controller
that has not observed the latest `metadata.generation` makes the object Progressing
whatever the rest of its status says (a stale status must never read as Healthy).

This module holds the dispatch (`RULES`, keyed by API group and kind), `assess` and the
aggregation of an app's health; the rules live by topic: `health_workloads.py`,
`health_services.py`, `health_generic.py` (every other kind), over the readers of
`health_fields.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.domain.health import Health, HealthStatus, worst
from shiplane.kube.health_fields import (
    DEFAULT_POLICY,
    HEALTHY,
    MISSING,
    PROGRESSING,
    UNKNOWN,
    HealthPolicy,
    Obj,
    generation_check,
    health,
    meta_of,
)
from shiplane.kube.health_generic import generic
from shiplane.kube.health_services import apiservice, crd, hpa, ingress, pvc, service
from shiplane.kube.health_workloads import (
    cronjob,
    daemonset,
    deployment,
    job,
    pod,
    replicaset,
    statefulset,
)
from shiplane.kube.refs import ObjRef

__all__ = [
    "DEFAULT_POLICY",
    "AppHealth",
    "Health",
    "HealthPolicy",
    "HealthStatus",
    "ResourceHealth",
    "aggregate",
    "assess",
]

Rule = Callable[[Obj, HealthPolicy], Health]

# Keyed by (API group, kind): rules hold for every version of a group.
RULES: dict[tuple[str, str], Rule] = {
    ("apps", "Deployment"): deployment,
    ("extensions", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replicaset,
    ("extensions", "ReplicaSet"): replicaset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "DaemonSet"): daemonset,
    ("extensions", "DaemonSet"): daemonset,
    ("", "Pod"): pod,
    ("batch", "Job"): job,
    ("batch", "CronJob"): cronjob,
    ("", "Service"): service,
    ("networking.k8s.io", "Ingress"): ingress,
    ("extensions", "Ingress"): ingress,
    ("", "PersistentVolumeClaim"): pvc,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd,
    ("apiregistration.k8s.io", "APIService"): apiservice,
}

# Kinds whose rules do their own generation handling (or have no observedGeneration).
_OWN_GENERATION = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


IGNORE_HEALTHCHECK = ("shiplane.dev/ignore-healthcheck", "argocd.argoproj.io/ignore-healthcheck")
"""Annotations (value "true") that leave an object out of its app's health, as Argo CD
does; Argo CD's own name is honoured too, so manifests written for it mean the same."""


def _ignored(obj: Obj) -> str | None:
    annotations = meta_of(obj).get("annotations") or {}
    return next((a for a in IGNORE_HEALTHCHECK if annotations.get(a) == "true"), None)


def assess(obj: Obj | None, policy: HealthPolicy = DEFAULT_POLICY) -> Health:
    """The health of one live object. `None` (the object does not exist) is Missing. An
    object annotated to be ignored counts as Healthy: it can never lower its app's
    health, which is what leaving it out of the aggregation means."""
    if obj is None:
        return health(MISSING, "NotFound", "object does not exist")
    ignored = _ignored(obj)
    if ignored is not None:
        return health(HEALTHY, "HealthCheckIgnored", f'health not checked ({ignored}: "true")')
    kind = str(obj.get("kind") or "")
    if meta_of(obj).get("deletionTimestamp"):
        return health(PROGRESSING, "Terminating", "object is being deleted")
    rule = RULES.get((_group(str(obj.get("apiVersion") or "")), kind), generic)
    if kind not in _OWN_GENERATION:
        stale = generation_check(obj, require_observed=False)
        if stale:
            return stale
    try:
        return rule(obj, policy)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # malformed status
        return health(UNKNOWN, "AssessmentError", f"cannot assess {kind}: {exc}")


# ---------------------------------------------------------------------------------------
# aggregation


@dataclass(frozen=True)
class ResourceHealth:
    ref: ObjRef
    health: Health

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref.to_json(), **self.health.to_json()}


@dataclass(frozen=True)
class AppHealth:
    """The health of an (environment, app): the worst resource's status and its reason.

    `message` names the worst resource; `resources` keeps every resource, in input order.
    """

    status: HealthStatus
    reason: str = ""
    message: str = ""
    resources: tuple[ResourceHealth, ...] = field(default_factory=tuple)

    @property
    def worst(self) -> ResourceHealth | None:
        for item in self.resources:
            if item.health.status is self.status:
                return item
        return None

    def by_status(self, status: HealthStatus) -> list[ResourceHealth]:
        return [item for item in self.resources if item.health.status is status]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "reason": self.reason,
            "message": self.message,
            "resources": [item.to_json() for item in self.resources],
        }


def aggregate(items: Sequence[tuple[ObjRef, Health | None]]) -> AppHealth:
    """Combine per-resource health into an app's: worst first, reason from the worst.

    A `None` health stands for an expected object that is absent (Missing). No resources
    at all is Healthy with reason "NoResources".
    """
    resources = tuple(
        ResourceHealth(ref, health if health is not None else assess(None)) for ref, health in items
    )
    if not resources:
        return AppHealth(HEALTHY, "NoResources", "no resources", ())
    status = worst(item.health.status for item in resources)
    first = next(item for item in resources if item.health.status is status)
    count = sum(1 for item in resources if item.health.status is status)
    message = f"{first.ref}: {first.health.message or first.health.reason or status}"
    if count > 1:
        message += f" (and {count - 1} more {status})"
    return AppHealth(status, first.health.reason, message, resources)
