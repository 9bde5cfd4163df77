"""Health as data: pure rules over live objects given as plain dicts (no I/O).

Follows kstatus (Flux) and Argo CD's per-kind rules (reference notes, part b). Every rule
starts with the generic checks: an object being deleted is Progressing, and a controller
that has not observed the latest `metadata.generation` makes the object Progressing
whatever the rest of its status says (a stale status must never read as Healthy).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.domain.health import Health, HealthStatus, worst
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

Obj = Mapping[str, Any]

HEALTHY = HealthStatus.HEALTHY
PROGRESSING = HealthStatus.PROGRESSING
DEGRADED = HealthStatus.DEGRADED
SUSPENDED = HealthStatus.SUSPENDED
MISSING = HealthStatus.MISSING
UNKNOWN = HealthStatus.UNKNOWN


@dataclass(frozen=True)
class HealthPolicy:
    """Per-environment knobs for rules that otherwise never converge on some clusters.

    `lb_address_optional`: a LoadBalancer Service or an Ingress is Healthy without a
    published address (controllers such as Traefik never publish one; local clusters
    have no load balancer at all).
    """

    lb_address_optional: bool = False


DEFAULT_POLICY = HealthPolicy()


# ---------------------------------------------------------------------------------------
# helpers


def _status(obj: Obj) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _meta(obj: Obj) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    result: dict[str, Mapping[str, Any]] = {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and "type" in cond:
            result[str(cond["type"])] = cond
    return result


def _is(cond: Mapping[str, Any] | None, value: str) -> bool:
    return cond is not None and str(cond.get("status")) == value


def _h(status: HealthStatus, reason: str = "", message: str = "") -> Health:
    return Health(status, reason, message)


def _from_condition(
    status: HealthStatus, cond: Mapping[str, Any], default_reason: str = ""
) -> Health:
    return Health(status, str(cond.get("reason") or default_reason), str(cond.get("message") or ""))


def _generation_check(obj: Obj, *, require_observed: bool) -> Health | None:
    """Progressing when the controller has not yet observed the current spec.

    `require_observed`: for built-in workload controllers a missing observedGeneration
    also means "not observed yet"; for other kinds it means "this kind does not report it".
    """
    generation = _meta(obj).get("generation")
    observed = _status(obj).get("observedGeneration")
    if generation is None:
        return None
    if observed is None:
        if require_observed:
            return _h(PROGRESSING, "NotObserved", "waiting for the controller to observe the spec")
        return None
    if _int(observed) < _int(generation):
        return _h(
            PROGRESSING,
            "ObservedGenerationStale",
            f"waiting for the controller to observe generation {generation} (observed {observed})",
        )
    return None


# ---------------------------------------------------------------------------------------
# per-kind rules


def _deployment(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = _spec(obj), _status(obj)
    if spec.get("paused"):
        return _h(SUSPENDED, "Paused", "deployment is paused")
    stale = _generation_check(obj, require_observed=True)
    if stale:
        return stale
    conds = _conditions(status)
    progressing = conds.get("Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return _from_condition(DEGRADED, progressing, "ProgressDeadlineExceeded")
    replicas = _int(spec.get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    total = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    if updated < replicas:
        return _h(
            PROGRESSING,
            "RollingUpdate",
            f"{updated} of {replicas} new replicas have been updated",
        )
    if total > updated:
        return _h(
            PROGRESSING,
            "OldReplicasPending",
            f"{total - updated} old replicas are pending termination",
        )
    if available < updated:
        return _h(
            PROGRESSING,
            "WaitingForAvailable",
            f"{available} of {updated} updated replicas are available",
        )
    return _h(HEALTHY, "RolloutComplete", f"{available} of {replicas} replicas available")


def _replicaset(obj: Obj, policy: HealthPolicy) -> Health:
    stale = _generation_check(obj, require_observed=True)
    if stale:
        return stale
    spec, status = _spec(obj), _status(obj)
    failure = _conditions(status).get("ReplicaFailure")
    if _is(failure, "True") and failure is not None:
        return _from_condition(DEGRADED, failure, "ReplicaFailure")
    replicas = _int(spec.get("replicas"), 1)
    available = _int(status.get("availableReplicas"))
    if available < replicas:
        return _h(PROGRESSING, "WaitingForAvailable", f"{available} of {replicas} available")
    return _h(HEALTHY, "Available", f"{available} of {replicas} replicas available")


def _statefulset(obj: Obj, policy: HealthPolicy) -> Health:
    stale = _generation_check(obj, require_observed=True)
    if stale:
        return stale
    spec, status = _spec(obj), _status(obj)
    if _int(status.get("observedGeneration")) == 0:
        return _h(PROGRESSING, "NotObserved", "waiting for the controller to observe the spec")
    replicas = _int(spec.get("replicas"), 1)
    ready = _int(status.get("readyReplicas"))
    if ready < replicas:
        return _h(PROGRESSING, "WaitingForReady", f"{ready} of {replicas} pods are ready")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return _h(HEALTHY, "OnDelete", "update strategy OnDelete: pods update when deleted")
    partition = _int((strategy.get("rollingUpdate") or {}).get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if partition > 0:
        expected = replicas - partition
        if updated < expected:
            return _h(
                PROGRESSING,
                "PartitionRollout",
                f"{updated} of {expected} pods above partition {partition} updated",
            )
        return _h(HEALTHY, "PartitionRolledOut", f"partitioned rollout complete ({updated} pods)")
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if update and current != update:
        return _h(
            PROGRESSING,
            "RollingUpdate",
            f"{updated} of {replicas} pods at revision {update}",
        )
    return _h(HEALTHY, "RolloutComplete", f"{ready} of {replicas} pods ready")


def _daemonset(obj: Obj, policy: HealthPolicy) -> Health:
    stale = _generation_check(obj, require_observed=True)
    if stale:
        return stale
    spec, status = _spec(obj), _status(obj)
    if "desiredNumberScheduled" not in status:
        return _h(PROGRESSING, "NotObserved", "waiting for the controller to schedule pods")
    desired = _int(status.get("desiredNumberScheduled"))
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return _h(HEALTHY, "OnDelete", "update strategy OnDelete: pods update when deleted")
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if updated < desired:
        return _h(PROGRESSING, "RollingUpdate", f"{updated} of {desired} pods updated")
    if available < desired:
        return _h(PROGRESSING, "WaitingForAvailable", f"{available} of {desired} pods available")
    return _h(HEALTHY, "RolloutComplete", f"{available} of {desired} pods available")


_BAD_WAITING_SUFFIXES = ("BackOff", "Error")


def _bad_waiting(container: Mapping[str, Any]) -> tuple[str, str] | None:
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = str(waiting.get("reason") or "")
    if reason and (reason.startswith("Err") or reason.endswith(_BAD_WAITING_SUFFIXES)):
        return reason, str(waiting.get("message") or "")
    return None


def _terminated_message(container: Mapping[str, Any]) -> str:
    for key in ("state", "lastState"):
        term = (container.get(key) or {}).get("terminated")
        if term:
            reason = term.get("reason") or "Terminated"
            return f"container {container.get('name')}: {reason} (exit code {term.get('exitCode')})"
    return ""


def _pod(obj: Obj, policy: HealthPolicy) -> Health:
    """Argo CD's pod rules. Only a pod that restarts `Always` is Degraded by a container
    stuck waiting (CrashLoopBackOff, ImagePullBackOff, ...): a pod with restartPolicy
    Never or OnFailure runs to completion (a hook, a test), and Argo CD keeps such a pod
    Progressing until it ends, since the condition may clear and the pod then runs."""
    spec, status = _spec(obj), _status(obj)
    restart_policy = spec.get("restartPolicy") or "Always"
    containers = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    phase = status.get("phase") or "Pending"
    if phase == "Succeeded":
        return _h(HEALTHY, "Succeeded", str(status.get("message") or "pod completed"))
    if phase == "Failed":
        message = str(status.get("message") or "")
        if not message:
            message = next(filter(None, map(_terminated_message, containers)), "pod failed")
        return _h(DEGRADED, str(status.get("reason") or "PodFailed"), message)
    for container in containers if restart_policy == "Always" else ():
        bad = _bad_waiting(container)
        if bad:
            reason, message = bad
            return _h(
                DEGRADED,
                reason,
                f"container {container.get('name')}: {message or reason}",
            )
    conds = _conditions(status)
    if phase == "Pending":
        scheduled = conds.get("PodScheduled")
        if _is(scheduled, "False") and scheduled is not None:
            return _from_condition(PROGRESSING, scheduled, "Unschedulable")
        return _h(PROGRESSING, "Pending", str(status.get("message") or "pod is pending"))
    if phase == "Running":
        if restart_policy != "Always":
            return _h(PROGRESSING, "Running", "pod is running to completion")
        if _is(conds.get("Ready"), "True"):
            return _h(HEALTHY, "Ready", "pod is running and ready")
        for container in status.get("containerStatuses") or []:
            if not container.get("ready") and (container.get("lastState") or {}).get("terminated"):
                return _h(DEGRADED, "ContainerRestarting", _terminated_message(container))
        return _h(PROGRESSING, "NotReady", "pod is running but not ready")
    return _h(UNKNOWN, str(phase), str(status.get("message") or ""))


def _job(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = _spec(obj), _status(obj)
    conds = _conditions(status)
    for ctype in ("Failed", "FailureTarget"):
        cond = conds.get(ctype)
        if _is(cond, "True") and cond is not None:
            return _from_condition(DEGRADED, cond, "JobFailed")
    for ctype in ("Complete", "SuccessCriteriaMet"):
        cond = conds.get(ctype)
        if _is(cond, "True") and cond is not None:
            return _from_condition(HEALTHY, cond, "Completed")
    suspended = conds.get("Suspended")
    if _is(suspended, "True") and suspended is not None:
        # The Job controller's own words, as Argo CD shows them ("JobSuspended: Job
        # suspended").
        return _h(
            SUSPENDED,
            str(suspended.get("reason") or "JobSuspended"),
            str(suspended.get("message") or "Job suspended"),
        )
    if spec.get("suspend"):  # suspended before the controller said so
        return _h(SUSPENDED, "JobSuspended", "Job suspended")
    active = _int(status.get("active"))
    return _h(PROGRESSING, "Running", f"{active} active pods")


def _cronjob(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = _spec(obj), _status(obj)
    if spec.get("suspend"):
        return _h(SUSPENDED, "Suspended", "cronjob is suspended")
    if status.get("active"):
        return _h(HEALTHY, "JobActive", f"{len(status['active'])} active jobs")
    scheduled = status.get("lastScheduleTime")
    succeeded = status.get("lastSuccessfulTime")
    if not scheduled:
        return _h(HEALTHY, "NeverScheduled", "no job scheduled yet")
    # RFC 3339 UTC timestamps of the same shape compare correctly as strings.
    if not succeeded or str(succeeded) < str(scheduled):
        return _h(
            DEGRADED,
            "LastJobFailed",
            f"the job scheduled at {scheduled} did not succeed "
            f"(last success: {succeeded or 'never'})",
        )
    return _h(HEALTHY, "LastJobSucceeded", f"last success at {succeeded}")


def _has_lb_ingress(status: Mapping[str, Any]) -> bool:
    return bool(((status.get("loadBalancer") or {}).get("ingress")) or [])


def _service(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = _spec(obj), _status(obj)
    if spec.get("type") != "LoadBalancer":
        return _h(HEALTHY, "", "")
    if _has_lb_ingress(status):
        return _h(HEALTHY, "LoadBalancerReady", "load balancer address published")
    if policy.lb_address_optional:
        return _h(HEALTHY, "LoadBalancerAddressOptional", "no address yet; not required by policy")
    return _h(PROGRESSING, "WaitingForLoadBalancer", "waiting for a load balancer address")


def _ingress(obj: Obj, policy: HealthPolicy) -> Health:
    if _has_lb_ingress(_status(obj)):
        return _h(HEALTHY, "LoadBalancerReady", "ingress address published")
    if policy.lb_address_optional:
        return _h(HEALTHY, "LoadBalancerAddressOptional", "no address yet; not required by policy")
    return _h(PROGRESSING, "WaitingForLoadBalancer", "waiting for an ingress address")


def _pvc(obj: Obj, policy: HealthPolicy) -> Health:
    phase = _status(obj).get("phase")
    if phase == "Bound":
        return _h(HEALTHY, "Bound", "claim is bound")
    if phase == "Pending" or phase is None:
        return _h(PROGRESSING, "Pending", "claim is pending (possibly WaitForFirstConsumer)")
    if phase == "Lost":
        return _h(DEGRADED, "Lost", "the bound volume is lost")
    return _h(UNKNOWN, str(phase), "")


_HPA_BAD = {
    "AbleToScale": {"FailedGetScale", "FailedUpdateScale"},
    "ScalingActive": {
        "FailedGetResourceMetric",
        "FailedGetObjectMetric",
        "FailedGetPodsMetric",
        "FailedGetExternalMetric",
        "FailedGetContainerResourceMetric",
        "FailedComputeMetricsReplicas",
        "InvalidSelector",
        "InvalidMetricSourceType",
    },
}
_HPA_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"


def _hpa(obj: Obj, policy: HealthPolicy) -> Health:
    status = dict(_status(obj))
    if not status.get("conditions"):
        raw = (_meta(obj).get("annotations") or {}).get(_HPA_CONDITIONS_ANNOTATION)
        if raw:  # autoscaling/v1 keeps v2 conditions in an annotation
            with contextlib.suppress(ValueError):
                status["conditions"] = json.loads(raw)
    conds = _conditions(status)
    if not conds:
        return _h(PROGRESSING, "WaitingToAutoscale", "no autoscaling conditions yet")
    for ctype, reasons in _HPA_BAD.items():
        cond = conds.get(ctype)
        if _is(cond, "False") and cond is not None and cond.get("reason") in reasons:
            return _from_condition(DEGRADED, cond)
    for ctype in ("AbleToScale", "ScalingLimited"):
        cond = conds.get(ctype)
        if _is(cond, "True") and cond is not None:
            return _from_condition(HEALTHY, cond)
    return _h(PROGRESSING, "WaitingToAutoscale", "autoscaler is not able to scale yet")


def _crd(obj: Obj, policy: HealthPolicy) -> Health:
    conds = _conditions(_status(obj))
    names = conds.get("NamesAccepted")
    if _is(names, "False") and names is not None:
        return _from_condition(DEGRADED, names, "NamesNotAccepted")
    nonstructural = conds.get("NonStructuralSchema")
    if _is(nonstructural, "True") and nonstructural is not None:
        return _from_condition(DEGRADED, nonstructural, "NonStructuralSchema")
    established = conds.get("Established")
    if _is(established, "True") and established is not None:
        return _from_condition(HEALTHY, established, "Established")
    if established is None or established.get("reason") == "Installing":
        return _h(PROGRESSING, "Installing", "waiting for the CRD to be established")
    return _from_condition(DEGRADED, established, "NotEstablished")


def _apiservice(obj: Obj, policy: HealthPolicy) -> Health:
    available = _conditions(_status(obj)).get("Available")
    if _is(available, "True") and available is not None:
        return _from_condition(HEALTHY, available, "Available")
    if available is None:
        return _h(PROGRESSING, "WaitingForAvailable", "no Available condition yet")
    return _from_condition(PROGRESSING, available, "NotAvailable")


_FAILURE_WORDS = ("fail", "error", "invalid", "denied", "forbidden", "notfound", "crash")
_HEALTHY_PHASES = {
    "running",
    "active",
    "bound",
    "succeeded",
    "ready",
    "available",
    "complete",
    "completed",
    "healthy",
    "established",
    "deployed",
}
_PROGRESSING_PHASES = {
    "pending",
    "progressing",
    "creating",
    "provisioning",
    "initializing",
    "updating",
    "reconciling",
    "terminating",
    "waiting",
    "",
}
_DEGRADED_PHASES = {"failed", "error", "degraded", "lost", "crashloopbackoff"}


def _looks_failed(reason: str) -> bool:
    lowered = reason.lower()
    return any(word in lowered for word in _FAILURE_WORDS)


def _generic(obj: Obj, policy: HealthPolicy) -> Health:
    status = _status(obj)
    if not status:
        return _h(HEALTHY, "", "")
    conds = _conditions(status)
    stalled = conds.get("Stalled")
    if _is(stalled, "True") and stalled is not None:
        return _from_condition(DEGRADED, stalled, "Stalled")
    reconciling = conds.get("Reconciling")
    if _is(reconciling, "True") and reconciling is not None:
        return _from_condition(PROGRESSING, reconciling, "Reconciling")
    for ctype in ("Ready", "Available"):
        cond = conds.get(ctype)
        if cond is None:
            continue
        if _is(cond, "True"):
            return _from_condition(HEALTHY, cond, ctype)
        reason = str(cond.get("reason") or "")
        if _is(cond, "False") and _looks_failed(reason):
            return _from_condition(DEGRADED, cond, f"Not{ctype}")
        return _from_condition(PROGRESSING, cond, f"Not{ctype}")
    phase = status.get("phase")
    if isinstance(phase, str):
        lowered = phase.lower()
        message = str(status.get("message") or "")
        if lowered in _HEALTHY_PHASES:
            return _h(HEALTHY, phase, message)
        if lowered in _DEGRADED_PHASES:
            return _h(DEGRADED, phase, message)
        if lowered in _PROGRESSING_PHASES:
            return _h(PROGRESSING, phase or "Pending", message)
        return _h(UNKNOWN, phase, message)
    return _h(HEALTHY, "", "")


Rule = Callable[[Obj, HealthPolicy], Health]

# Keyed by (API group, kind): rules hold for every version of a group.
RULES: dict[tuple[str, str], Rule] = {
    ("apps", "Deployment"): _deployment,
    ("extensions", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("extensions", "ReplicaSet"): _replicaset,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("extensions", "DaemonSet"): _daemonset,
    ("", "Pod"): _pod,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("", "Service"): _service,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("extensions", "Ingress"): _ingress,
    ("", "PersistentVolumeClaim"): _pvc,
    ("autoscaling", "HorizontalPodAutoscaler"): _hpa,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("apiregistration.k8s.io", "APIService"): _apiservice,
}

# Kinds whose rules do their own generation handling (or have no observedGeneration).
_OWN_GENERATION = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


IGNORE_HEALTHCHECK = ("shiplane.dev/ignore-healthcheck", "argocd.argoproj.io/ignore-healthcheck")
"""Annotations (value "true") that leave an object out of its app's health, as Argo CD
does; Argo CD's own name is honoured too, so manifests written for it mean the same."""


def _ignored(obj: Obj) -> str | None:
    annotations = _meta(obj).get("annotations") or {}
    return next((a for a in IGNORE_HEALTHCHECK if annotations.get(a) == "true"), None)


def assess(obj: Obj | None, policy: HealthPolicy = DEFAULT_POLICY) -> Health:
    """The health of one live object. `None` (the object does not exist) is Missing. An
    object annotated to be ignored counts as Healthy: it can never lower its app's
    health, which is what leaving it out of the aggregation means."""
    if obj is None:
        return _h(MISSING, "NotFound", "object does not exist")
    ignored = _ignored(obj)
    if ignored is not None:
        return _h(HEALTHY, "HealthCheckIgnored", f'health not checked ({ignored}: "true")')
    kind = str(obj.get("kind") or "")
    if _meta(obj).get("deletionTimestamp"):
        return _h(PROGRESSING, "Terminating", "object is being deleted")
    rule = RULES.get((_group(str(obj.get("apiVersion") or "")), kind), _generic)
    if kind not in _OWN_GENERATION:
        stale = _generation_check(obj, require_observed=False)
        if stale:
            return stale
    try:
        return rule(obj, policy)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # malformed status
        return _h(UNKNOWN, "AssessmentError", f"cannot assess {kind}: {exc}")


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
