"""Health rules of workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet, Pod, Job,
CronJob (Argo CD's rules; kstatus for generations). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shiplane.domain.health import Health
from shiplane.kube.health_fields import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    SUSPENDED,
    UNKNOWN,
    HealthPolicy,
    Obj,
    as_int,
    cond_is,
    conditions_of,
    from_condition,
    generation_check,
    health,
    spec_of,
    status_of,
)


def deployment(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = spec_of(obj), status_of(obj)
    if spec.get("paused"):
        return health(SUSPENDED, "Paused", "deployment is paused")
    stale = generation_check(obj, require_observed=True)
    if stale:
        return stale
    conds = conditions_of(status)
    progressing = conds.get("Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return from_condition(DEGRADED, progressing, "ProgressDeadlineExceeded")
    replicas = as_int(spec.get("replicas"), 1)
    updated = as_int(status.get("updatedReplicas"))
    total = as_int(status.get("replicas"))
    available = as_int(status.get("availableReplicas"))
    if updated < replicas:
        return health(
            PROGRESSING,
            "RollingUpdate",
            f"{updated} of {replicas} new replicas have been updated",
        )
    if total > updated:
        return health(
            PROGRESSING,
            "OldReplicasPending",
            f"{total - updated} old replicas are pending termination",
        )
    if available < updated:
        return health(
            PROGRESSING,
            "WaitingForAvailable",
            f"{available} of {updated} updated replicas are available",
        )
    return health(HEALTHY, "RolloutComplete", f"{available} of {replicas} replicas available")


def replicaset(obj: Obj, policy: HealthPolicy) -> Health:
    stale = generation_check(obj, require_observed=True)
    if stale:
        return stale
    spec, status = spec_of(obj), status_of(obj)
    failure = conditions_of(status).get("ReplicaFailure")
    if cond_is(failure, "True") and failure is not None:
        return from_condition(DEGRADED, failure, "ReplicaFailure")
    replicas = as_int(spec.get("replicas"), 1)
    available = as_int(status.get("availableReplicas"))
    if available < replicas:
        return health(PROGRESSING, "WaitingForAvailable", f"{available} of {replicas} available")
    return health(HEALTHY, "Available", f"{available} of {replicas} replicas available")


def statefulset(obj: Obj, policy: HealthPolicy) -> Health:
    stale = generation_check(obj, require_observed=True)
    if stale:
        return stale
    spec, status = spec_of(obj), status_of(obj)
    if as_int(status.get("observedGeneration")) == 0:
        return health(PROGRESSING, "NotObserved", "waiting for the controller to observe the spec")
    replicas = as_int(spec.get("replicas"), 1)
    ready = as_int(status.get("readyReplicas"))
    if ready < replicas:
        return health(PROGRESSING, "WaitingForReady", f"{ready} of {replicas} pods are ready")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return health(HEALTHY, "OnDelete", "update strategy OnDelete: pods update when deleted")
    partition = as_int((strategy.get("rollingUpdate") or {}).get("partition"))
    updated = as_int(status.get("updatedReplicas"))
    if partition > 0:
        expected = replicas - partition
        if updated < expected:
            return health(
                PROGRESSING,
                "PartitionRollout",
                f"{updated} of {expected} pods above partition {partition} updated",
            )
        return health(
            HEALTHY, "PartitionRolledOut", f"partitioned rollout complete ({updated} pods)"
        )
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if update and current != update:
        return health(
            PROGRESSING,
            "RollingUpdate",
            f"{updated} of {replicas} pods at revision {update}",
        )
    return health(HEALTHY, "RolloutComplete", f"{ready} of {replicas} pods ready")


def daemonset(obj: Obj, policy: HealthPolicy) -> Health:
    stale = generation_check(obj, require_observed=True)
    if stale:
        return stale
    spec, status = spec_of(obj), status_of(obj)
    if "desiredNumberScheduled" not in status:
        return health(PROGRESSING, "NotObserved", "waiting for the controller to schedule pods")
    desired = as_int(status.get("desiredNumberScheduled"))
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return health(HEALTHY, "OnDelete", "update strategy OnDelete: pods update when deleted")
    updated = as_int(status.get("updatedNumberScheduled"))
    available = as_int(status.get("numberAvailable"))
    if updated < desired:
        return health(PROGRESSING, "RollingUpdate", f"{updated} of {desired} pods updated")
    if available < desired:
        return health(
            PROGRESSING, "WaitingForAvailable", f"{available} of {desired} pods available"
        )
    return health(HEALTHY, "RolloutComplete", f"{available} of {desired} pods available")


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


def pod(obj: Obj, policy: HealthPolicy) -> Health:
    """Argo CD's pod rules. Only a pod that restarts `Always` is Degraded by a container
    stuck waiting (CrashLoopBackOff, ImagePullBackOff, ...): a pod with restartPolicy
    Never or OnFailure runs to completion (a hook, a test), and Argo CD keeps such a pod
    Progressing until it ends, since the condition may clear and the pod then runs."""
    spec, status = spec_of(obj), status_of(obj)
    restart_policy = spec.get("restartPolicy") or "Always"
    containers = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    phase = status.get("phase") or "Pending"
    if phase == "Succeeded":
        return health(HEALTHY, "Succeeded", str(status.get("message") or "pod completed"))
    if phase == "Failed":
        message = str(status.get("message") or "")
        if not message:
            message = next(filter(None, map(_terminated_message, containers)), "pod failed")
        return health(DEGRADED, str(status.get("reason") or "PodFailed"), message)
    for container in containers if restart_policy == "Always" else ():
        bad = _bad_waiting(container)
        if bad:
            reason, message = bad
            return health(
                DEGRADED,
                reason,
                f"container {container.get('name')}: {message or reason}",
            )
    conds = conditions_of(status)
    if phase == "Pending":
        scheduled = conds.get("PodScheduled")
        if cond_is(scheduled, "False") and scheduled is not None:
            return from_condition(PROGRESSING, scheduled, "Unschedulable")
        return health(PROGRESSING, "Pending", str(status.get("message") or "pod is pending"))
    if phase == "Running":
        if restart_policy != "Always":
            return health(PROGRESSING, "Running", "pod is running to completion")
        if cond_is(conds.get("Ready"), "True"):
            return health(HEALTHY, "Ready", "pod is running and ready")
        for container in status.get("containerStatuses") or []:
            if not container.get("ready") and (container.get("lastState") or {}).get("terminated"):
                return health(DEGRADED, "ContainerRestarting", _terminated_message(container))
        return health(PROGRESSING, "NotReady", "pod is running but not ready")
    return health(UNKNOWN, str(phase), str(status.get("message") or ""))


def job(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = spec_of(obj), status_of(obj)
    conds = conditions_of(status)
    for ctype in ("Failed", "FailureTarget"):
        cond = conds.get(ctype)
        if cond_is(cond, "True") and cond is not None:
            return from_condition(DEGRADED, cond, "JobFailed")
    for ctype in ("Complete", "SuccessCriteriaMet"):
        cond = conds.get(ctype)
        if cond_is(cond, "True") and cond is not None:
            return from_condition(HEALTHY, cond, "Completed")
    suspended = conds.get("Suspended")
    if cond_is(suspended, "True") and suspended is not None:
        # The Job controller's own words, as Argo CD shows them ("JobSuspended: Job
        # suspended").
        return health(
            SUSPENDED,
            str(suspended.get("reason") or "JobSuspended"),
            str(suspended.get("message") or "Job suspended"),
        )
    if spec.get("suspend"):  # suspended before the controller said so
        return health(SUSPENDED, "JobSuspended", "Job suspended")
    active = as_int(status.get("active"))
    return health(PROGRESSING, "Running", f"{active} active pods")


def cronjob(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = spec_of(obj), status_of(obj)
    if spec.get("suspend"):
        return health(SUSPENDED, "Suspended", "cronjob is suspended")
    if status.get("active"):
        return health(HEALTHY, "JobActive", f"{len(status['active'])} active jobs")
    scheduled = status.get("lastScheduleTime")
    succeeded = status.get("lastSuccessfulTime")
    if not scheduled:
        return health(HEALTHY, "NeverScheduled", "no job scheduled yet")
    # RFC 3339 UTC timestamps of the same shape compare correctly as strings.
    if not succeeded or str(succeeded) < str(scheduled):
        return health(
            DEGRADED,
            "LastJobFailed",
            f"the job scheduled at {scheduled} did not succeed "
            f"(last success: {succeeded or 'never'})",
        )
    return health(HEALTHY, "LastJobSucceeded", f"last success at {succeeded}")
