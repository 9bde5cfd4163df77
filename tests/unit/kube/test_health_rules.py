"""Per-kind health rules over realistic live objects (shapes as the API server returns them)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from shiplane.domain.health import Health, HealthStatus, SyncStatus, worst
from shiplane.kube.health import HealthPolicy, aggregate, assess
from shiplane.kube.refs import ObjRef

H = HealthStatus


def deployment(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": 3},
        "spec": {"replicas": 3, "progressDeadlineSeconds": 600},
        "status": {
            "observedGeneration": 3,
            "replicas": 3,
            "updatedReplicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }
    for path, value in overrides.items():
        target = obj
        *parents, last = path.split("__")
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    return obj


# ---- severity and generic checks -------------------------------------------------------


def test_severity_order_is_argo_order():
    order = [H.HEALTHY, H.SUSPENDED, H.PROGRESSING, H.MISSING, H.DEGRADED, H.UNKNOWN]
    assert [s.severity for s in order] == sorted(s.severity for s in order)
    assert worst([H.HEALTHY, H.DEGRADED, H.PROGRESSING]) is H.DEGRADED
    assert worst([]) is H.HEALTHY
    assert H.DEGRADED.is_terminal_failure and not H.PROGRESSING.is_terminal_failure
    assert str(SyncStatus.OUT_OF_SYNC) == "OutOfSync"


def test_health_str_and_json():
    h = Health(H.DEGRADED, "ProgressDeadlineExceeded", "too slow")
    assert str(h) == "Degraded (ProgressDeadlineExceeded): too slow"
    assert h.to_json()["status"] == "Degraded"


def test_absent_object_is_missing():
    assert assess(None).status is H.MISSING


def test_object_being_deleted_is_progressing():
    obj = deployment(metadata__deletionTimestamp="2026-01-01T00:00:00Z")
    assert assess(obj) == Health(H.PROGRESSING, "Terminating", "object is being deleted")


def test_malformed_status_is_unknown_not_a_crash():
    obj = deployment()
    obj["status"]["conditions"] = "oops"
    obj["spec"]["replicas"] = {"not": "a number"}
    h = assess(obj)
    assert h.status in (H.UNKNOWN, H.HEALTHY, H.PROGRESSING)


# ---- Deployment ------------------------------------------------------------------------


def test_deployment_complete_is_healthy():
    assert assess(deployment()).status is H.HEALTHY


def test_deployment_observed_generation_lag_wins_over_a_healthy_looking_status():
    # the spec just changed: the old status still says "all good" but is stale
    h = assess(deployment(metadata__generation=4))
    assert h.status is H.PROGRESSING
    assert h.reason == "ObservedGenerationStale"


def test_deployment_without_observed_generation_is_progressing():
    obj = deployment()
    del obj["status"]["observedGeneration"]
    assert assess(obj).reason == "NotObserved"


def test_deployment_paused_is_suspended_even_mid_rollout():
    h = assess(deployment(spec__paused=True, status__updatedReplicas=1))
    assert h == Health(H.SUSPENDED, "Paused", "deployment is paused")


def test_deployment_progress_deadline_exceeded_is_degraded_with_reason():
    obj = deployment(status__availableReplicas=0, status__updatedReplicas=1)
    obj["status"]["conditions"][1] = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-7d4b" has timed out progressing.',
    }
    h = assess(obj)
    assert h.status is H.DEGRADED
    assert h.reason == "ProgressDeadlineExceeded"
    assert "timed out" in h.message


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ({"updatedReplicas": 1}, "RollingUpdate"),
        ({"replicas": 4}, "OldReplicasPending"),
        ({"availableReplicas": 2}, "WaitingForAvailable"),
    ],
)
def test_deployment_rollout_in_progress(status: dict[str, int], reason: str):
    obj = deployment()
    obj["status"].update(status)
    h = assess(obj)
    assert (h.status, h.reason) == (H.PROGRESSING, reason)


def test_deployment_replicas_default_to_one():
    obj = deployment()
    del obj["spec"]["replicas"]
    obj["status"].update(replicas=1, updatedReplicas=1, availableReplicas=1)
    assert assess(obj).status is H.HEALTHY


def test_deployment_scaled_to_zero_is_healthy():
    obj = deployment(spec__replicas=0)
    obj["status"] = {"observedGeneration": 3}
    assert assess(obj).status is H.HEALTHY


# ---- ReplicaSet, StatefulSet, DaemonSet ------------------------------------------------


def replicaset(available: int, *, failure: bool = False) -> dict[str, Any]:
    conds = (
        [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota"}]
        if failure
        else []
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web-1", "generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "availableReplicas": available, "conditions": conds},
    }


def test_replicaset_rules():
    assert assess(replicaset(2)).status is H.HEALTHY
    assert assess(replicaset(1)).status is H.PROGRESSING
    h = assess(replicaset(0, failure=True))
    assert (h.status, h.reason, h.message) == (H.DEGRADED, "FailedCreate", "quota")


def statefulset(**status: Any) -> dict[str, Any]:
    base = {
        "observedGeneration": 2,
        "replicas": 3,
        "readyReplicas": 3,
        "updatedReplicas": 3,
        "currentRevision": "db-abc",
        "updateRevision": "db-abc",
    }
    base.update(status)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "generation": 2},
        "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"}},
        "status": base,
    }


def test_statefulset_rules():
    assert assess(statefulset()).status is H.HEALTHY
    assert assess(statefulset(readyReplicas=2)).reason == "WaitingForReady"
    h = assess(statefulset(updateRevision="db-def", updatedReplicas=1))
    assert (h.status, h.reason) == (H.PROGRESSING, "RollingUpdate")
    assert assess(statefulset(observedGeneration=1)).reason == "ObservedGenerationStale"


def test_statefulset_observed_generation_zero_is_not_observed():
    obj = statefulset(observedGeneration=0)
    obj["metadata"]["generation"] = 0
    assert assess(obj).reason == "NotObserved"


def test_statefulset_partitioned_rollout():
    obj = statefulset(updateRevision="db-def", updatedReplicas=0)
    obj["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    assert assess(obj).reason == "PartitionRollout"
    obj["status"]["updatedReplicas"] = 1  # replicas 3 - partition 2 = 1 pod to update
    assert (assess(obj).status, assess(obj).reason) == (H.HEALTHY, "PartitionRolledOut")


def test_statefulset_on_delete_is_healthy_once_ready():
    obj = statefulset(updateRevision="db-def", updatedReplicas=0)
    obj["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert assess(obj).status is H.HEALTHY


def daemonset(**status: Any) -> dict[str, Any]:
    base = {
        "observedGeneration": 1,
        "desiredNumberScheduled": 2,
        "currentNumberScheduled": 2,
        "updatedNumberScheduled": 2,
        "numberAvailable": 2,
        "numberReady": 2,
    }
    base.update(status)
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "generation": 1},
        "spec": {"updateStrategy": {"type": "RollingUpdate"}},
        "status": base,
    }


def test_daemonset_rules():
    assert assess(daemonset()).status is H.HEALTHY
    assert assess(daemonset(updatedNumberScheduled=1)).reason == "RollingUpdate"
    assert assess(daemonset(numberAvailable=1)).reason == "WaitingForAvailable"
    obj = daemonset()
    del obj["status"]["desiredNumberScheduled"]
    assert assess(obj).status is H.PROGRESSING
    obj = daemonset(updatedNumberScheduled=0)
    obj["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert assess(obj).status is H.HEALTHY


# ---- Pod -------------------------------------------------------------------------------


def pod(phase: str, *, restart: str = "Always", ready: bool = False, **container: Any) -> dict:
    cs = {"name": "main", "ready": ready, "restartCount": 0, "state": {"running": {}}}
    cs.update(container)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-abc", "namespace": "shop"},
        "spec": {"restartPolicy": restart, "containers": [{"name": "main", "image": "x"}]},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [cs],
        },
    }


def test_pod_running_and_ready_is_healthy():
    assert assess(pod("Running", ready=True)).status is H.HEALTHY


def test_pod_running_not_ready_is_progressing():
    assert assess(pod("Running")).reason == "NotReady"


@pytest.mark.parametrize("reason", ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"])
def test_pod_bad_waiting_reasons_are_degraded(reason: str):
    p = pod("Running", state={"waiting": {"reason": reason, "message": "back-off 10s"}})
    h = assess(p)
    assert (h.status, h.reason) == (H.DEGRADED, reason)
    assert "container main" in h.message


@pytest.mark.parametrize("restart", ["Never", "OnFailure"])
def test_pod_that_runs_to_completion_stays_progressing_while_a_container_waits(restart: str):
    # Argo CD: only restartPolicy Always makes a waiting container Degraded; a pod that
    # runs to completion may still start once the image is there.
    for phase in ("Pending", "Running"):
        p = pod(phase, restart=restart, state={"waiting": {"reason": "ImagePullBackOff"}})
        assert assess(p).status is H.PROGRESSING
    always = pod("Pending", state={"waiting": {"reason": "ImagePullBackOff"}})
    assert assess(always).status is H.DEGRADED
    # It ends Degraded when it fails, like any pod.
    failed = pod("Failed", restart=restart, state={"terminated": {"exitCode": 2}})
    assert assess(failed).status is H.DEGRADED


@pytest.mark.parametrize(
    "annotation", ["shiplane.dev/ignore-healthcheck", "argocd.argoproj.io/ignore-healthcheck"]
)
def test_an_object_annotated_to_be_ignored_never_lowers_its_app_health(annotation: str):
    crashing = pod("Running", state={"waiting": {"reason": "CrashLoopBackOff"}})
    crashing["metadata"]["annotations"] = {annotation: "true"}
    h = assess(crashing)
    assert (h.status, h.reason) == (H.HEALTHY, "HealthCheckIgnored")
    assert annotation in h.message
    ref = ObjRef("v1", "Pod", "shop", "web-abc")
    ready = assess(pod("Running", ready=True))
    assert aggregate([(ref, h), (ref, ready)]).status is H.HEALTHY
    crashing["metadata"]["annotations"] = {annotation: "false"}
    assert assess(crashing).status is H.DEGRADED


def test_pod_container_creating_is_progressing():
    p = pod("Pending", state={"waiting": {"reason": "ContainerCreating"}})
    assert assess(p).status is H.PROGRESSING


def test_pod_unschedulable_pending_is_progressing_with_reason():
    p = pod("Pending")
    p["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2"}
    ]
    assert (assess(p).status, assess(p).reason) == (H.PROGRESSING, "Unschedulable")


def test_pod_running_with_previous_crash_and_not_ready_is_degraded():
    p = pod("Running", lastState={"terminated": {"reason": "Error", "exitCode": 1}})
    h = assess(p)
    assert h.status is H.DEGRADED
    assert "exit code 1" in h.message


def test_pod_restart_never_running_is_progressing_and_succeeded_healthy():
    assert assess(pod("Running", restart="Never", ready=True)).status is H.PROGRESSING
    assert assess(pod("Succeeded", restart="Never")).status is H.HEALTHY
    assert assess(pod("Succeeded", restart="OnFailure")).status is H.HEALTHY


def test_pod_failed_is_degraded_with_container_message():
    p = pod(
        "Failed",
        restart="Never",
        state={"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    )
    h = assess(p)
    assert h.status is H.DEGRADED
    assert "OOMKilled" in h.message and "137" in h.message


def test_pod_unknown_phase():
    assert assess(pod("Unknown")).status is H.UNKNOWN


# ---- Job and CronJob -------------------------------------------------------------------


def job(conditions: list[dict[str, str]] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop", "generation": 1},
        "spec": {"backoffLimit": 0, **spec},
        "status": {"active": 1, "conditions": conditions or []},
    }


def test_job_running_is_progressing():
    assert assess(job()).status is H.PROGRESSING


def test_job_complete_is_healthy():
    assert assess(job([{"type": "Complete", "status": "True"}])).status is H.HEALTHY


def test_job_failed_is_degraded_with_reason():
    h = assess(
        job(
            [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                },
            ]
        )
    )
    assert (h.status, h.reason) == (H.DEGRADED, "BackoffLimitExceeded")
    assert "backoff limit" in h.message


def test_job_failure_target_alone_already_fails_fast():
    h = assess(job([{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"}]))
    assert h.status is H.DEGRADED


def test_job_suspended_reads_like_argo_cd():
    h = assess(job(suspend=True))
    assert (h.status, h.reason, h.message) == (H.SUSPENDED, "JobSuspended", "Job suspended")
    cond = [
        {
            "type": "Suspended",
            "status": "True",
            "reason": "JobSuspended",
            "message": "Job suspended",
        }
    ]
    h = assess(job(cond))
    assert (h.status, h.reason, h.message) == (H.SUSPENDED, "JobSuspended", "Job suspended")
    resumed = [{"type": "Suspended", "status": "False", "reason": "JobResumed"}]
    assert assess(job(resumed)).status is H.PROGRESSING


def cronjob(**fields: Any) -> dict[str, Any]:
    spec = {"schedule": "*/5 * * * *", "suspend": fields.pop("suspend", False)}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report", "generation": 1},
        "spec": spec,
        "status": fields,
    }


def test_cronjob_rules():
    assert assess(cronjob()).reason == "NeverScheduled"
    assert assess(cronjob(suspend=True)).status is H.SUSPENDED
    ok = cronjob(lastScheduleTime="2026-01-01T10:00:00Z", lastSuccessfulTime="2026-01-01T10:00:07Z")
    assert assess(ok).status is H.HEALTHY
    failed = cronjob(
        lastScheduleTime="2026-01-01T10:05:00Z", lastSuccessfulTime="2026-01-01T10:00:07Z"
    )
    assert (assess(failed).status, assess(failed).reason) == (H.DEGRADED, "LastJobFailed")
    running = cronjob(
        lastScheduleTime="2026-01-01T10:05:00Z",
        active=[{"kind": "Job", "name": "report-123"}],
    )
    assert assess(running).status is H.HEALTHY


# ---- Service, Ingress ------------------------------------------------------------------


def service(kind: str, ingress: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": kind, "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": ingress} if ingress else {}},
    }


def test_service_rules_and_lb_address_policy():
    assert assess(service("ClusterIP")).status is H.HEALTHY
    assert assess(service("LoadBalancer")).reason == "WaitingForLoadBalancer"
    assert assess(service("LoadBalancer", [{"ip": "10.0.0.9"}])).status is H.HEALTHY
    lenient = HealthPolicy(lb_address_optional=True)
    assert assess(service("LoadBalancer"), lenient).status is H.HEALTHY


def test_ingress_rules_and_lb_address_policy():
    ing = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "generation": 1},
        "spec": {"rules": [{"host": "shop.example"}]},
        "status": {"loadBalancer": {}},
    }
    assert assess(ing).status is H.PROGRESSING
    assert assess(ing, HealthPolicy(lb_address_optional=True)).status is H.HEALTHY
    ing["status"] = {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}
    assert assess(ing).status is H.HEALTHY


# ---- PVC, HPA, CRD, APIService ---------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "status"),
    [("Bound", H.HEALTHY), ("Pending", H.PROGRESSING), ("Lost", H.DEGRADED), ("Odd", H.UNKNOWN)],
)
def test_pvc_phases(phase: str, status: HealthStatus):
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "status": {"phase": phase},
    }
    assert assess(pvc).status is status


def hpa(conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"minReplicas": 1, "maxReplicas": 5},
        "status": {"conditions": conditions},
    }


def test_hpa_rules():
    assert assess(hpa([])).reason == "WaitingToAutoscale"
    ok = hpa(
        [
            {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
            {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"},
        ]
    )
    assert assess(ok).status is H.HEALTHY
    bad = hpa(
        [
            {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"},
            {
                "type": "ScalingActive",
                "status": "False",
                "reason": "FailedGetResourceMetric",
                "message": "unable to get metrics",
            },
        ]
    )
    assert (assess(bad).status, assess(bad).reason) == (H.DEGRADED, "FailedGetResourceMetric")


def test_hpa_v1_reads_conditions_from_annotation():
    conds = [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale"}]
    obj = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": "web",
            "annotations": {"autoscaling.alpha.kubernetes.io/conditions": json.dumps(conds)},
        },
        "status": {"currentReplicas": 1},
    }
    assert assess(obj).status is H.DEGRADED


def crd(conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "generation": 1},
        "status": {"conditions": conditions},
    }


def test_crd_rules():
    est = {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
    names = {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"}
    assert assess(crd([names, est])).status is H.HEALTHY
    assert assess(crd([names])).reason == "Installing"
    installing = {"type": "Established", "status": "False", "reason": "Installing"}
    assert assess(crd([names, installing])).status is H.PROGRESSING
    conflict = {"type": "NamesAccepted", "status": "False", "reason": "PluralConflict"}
    assert (assess(crd([conflict])).status, assess(crd([conflict])).reason) == (
        H.DEGRADED,
        "PluralConflict",
    )
    nonstructural = {"type": "NonStructuralSchema", "status": "True", "reason": "Violations"}
    assert assess(crd([names, est, nonstructural])).status is H.DEGRADED


def test_apiservice_rules():
    svc: dict[str, Any] = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "status": {},
    }
    assert assess(svc).status is H.PROGRESSING  # not available yet
    svc["status"] = {"conditions": [{"type": "Available", "status": "True", "reason": "Local"}]}
    assert assess(svc).status is H.HEALTHY
    svc["status"]["conditions"][0] = {
        "type": "Available",
        "status": "False",
        "reason": "FailedDiscoveryCheck",
    }
    assert (assess(svc).status, assess(svc).reason) == (H.PROGRESSING, "FailedDiscoveryCheck")
    svc["status"] = {"conditions": [{"type": "Other", "status": "True"}]}
    assert assess(svc).reason == "WaitingForAvailable"


# ---- generic ---------------------------------------------------------------------------


def custom(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "generation": generation},
        "spec": {},
    }
    if status is not None:
        obj["status"] = status
    return obj


def test_objects_without_status_are_healthy():
    for kind in ("ConfigMap", "Secret", "ServiceAccount"):
        obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "data": {}}
        assert assess(obj).status is H.HEALTHY
    assert assess(custom(None)).status is H.HEALTHY


def test_generic_conditions():
    ready = {"type": "Ready", "status": "True", "reason": "Ok"}
    assert assess(custom({"conditions": [ready], "observedGeneration": 1})).status is H.HEALTHY
    not_ready = {"type": "Ready", "status": "False", "reason": "Issuing"}
    assert assess(custom({"conditions": [not_ready]})).status is H.PROGRESSING
    failed = {"type": "Ready", "status": "False", "reason": "ReconciliationFailed", "message": "x"}
    assert assess(custom({"conditions": [failed]})).status is H.DEGRADED
    unknown = {"type": "Available", "status": "Unknown"}
    assert assess(custom({"conditions": [unknown]})).status is H.PROGRESSING
    stalled = {"type": "Stalled", "status": "True", "reason": "Broken"}
    assert assess(custom({"conditions": [ready, stalled]})).status is H.DEGRADED
    reconciling = {"type": "Reconciling", "status": "True", "reason": "Working"}
    assert assess(custom({"conditions": [ready, reconciling]})).status is H.PROGRESSING


def test_generic_observed_generation_lag():
    ready = {"type": "Ready", "status": "True"}
    h = assess(custom({"conditions": [ready], "observedGeneration": 1}, generation=2))
    assert (h.status, h.reason) == (H.PROGRESSING, "ObservedGenerationStale")


@pytest.mark.parametrize(
    ("phase", "status"),
    [
        ("Running", H.HEALTHY),
        ("Succeeded", H.HEALTHY),
        ("Pending", H.PROGRESSING),
        ("Failed", H.DEGRADED),
        ("Error", H.DEGRADED),
        ("Weird", H.UNKNOWN),
    ],
)
def test_generic_phase(phase: str, status: HealthStatus):
    assert assess(custom({"phase": phase})).status is status


def test_generic_status_without_known_fields_is_healthy():
    assert assess(custom({"something": 1})).status is H.HEALTHY


# ---- aggregate -------------------------------------------------------------------------


def ref(kind: str, name: str) -> ObjRef:
    return ObjRef("apps/v1" if kind == "Deployment" else "v1", kind, "shop", name)


def test_aggregate_worst_first_with_reason_from_the_worst():
    bad = deployment()
    bad["status"]["conditions"][1] = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": "timed out",
    }
    items = [
        (ref("ConfigMap", "cfg"), assess({"apiVersion": "v1", "kind": "ConfigMap"})),
        (ref("Deployment", "slow"), assess(deployment(status__updatedReplicas=1))),
        (ref("Deployment", "bad"), assess(bad)),
    ]
    app = aggregate(items)
    assert app.status is H.DEGRADED
    assert app.reason == "ProgressDeadlineExceeded"
    assert app.message.startswith("Deployment/shop/bad: timed out")
    assert app.worst is not None and app.worst.ref.name == "bad"
    assert [r.ref.name for r in app.resources] == ["cfg", "slow", "bad"]
    assert len(app.by_status(H.PROGRESSING)) == 1
    assert app.to_json()["resources"][2]["reason"] == "ProgressDeadlineExceeded"


def test_aggregate_missing_from_none_and_counts_more():
    app = aggregate([(ref("ConfigMap", "a"), None), (ref("ConfigMap", "b"), None)])
    assert app.status is H.MISSING
    assert app.reason == "NotFound"
    assert "and 1 more Missing" in app.message


def test_aggregate_empty_and_all_healthy():
    assert aggregate([]).status is H.HEALTHY
    healthy = aggregate([(ref("Deployment", "web"), assess(deployment()))])
    assert healthy.status is H.HEALTHY


def test_assess_does_not_mutate_input():
    obj = deployment()
    before = copy.deepcopy(obj)
    assess(obj)
    assert obj == before
