"""Health rules of services, storage, autoscaling and API extension kinds: Service,
Ingress, PersistentVolumeClaim, HorizontalPodAutoscaler, CustomResourceDefinition,
APIService. Pure."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from shiplane.domain.health import Health
from shiplane.kube.health_fields import (
    DEGRADED,
    HEALTHY,
    PROGRESSING,
    UNKNOWN,
    HealthPolicy,
    Obj,
    cond_is,
    conditions_of,
    from_condition,
    health,
    meta_of,
    spec_of,
    status_of,
)


def _has_lb_ingress(status: Mapping[str, Any]) -> bool:
    return bool(((status.get("loadBalancer") or {}).get("ingress")) or [])


def service(obj: Obj, policy: HealthPolicy) -> Health:
    spec, status = spec_of(obj), status_of(obj)
    if spec.get("type") != "LoadBalancer":
        return health(HEALTHY, "", "")
    if _has_lb_ingress(status):
        return health(HEALTHY, "LoadBalancerReady", "load balancer address published")
    if policy.lb_address_optional:
        return health(
            HEALTHY, "LoadBalancerAddressOptional", "no address yet; not required by policy"
        )
    return health(PROGRESSING, "WaitingForLoadBalancer", "waiting for a load balancer address")


def ingress(obj: Obj, policy: HealthPolicy) -> Health:
    if _has_lb_ingress(status_of(obj)):
        return health(HEALTHY, "LoadBalancerReady", "ingress address published")
    if policy.lb_address_optional:
        return health(
            HEALTHY, "LoadBalancerAddressOptional", "no address yet; not required by policy"
        )
    return health(PROGRESSING, "WaitingForLoadBalancer", "waiting for an ingress address")


def pvc(obj: Obj, policy: HealthPolicy) -> Health:
    phase = status_of(obj).get("phase")
    if phase == "Bound":
        return health(HEALTHY, "Bound", "claim is bound")
    if phase == "Pending" or phase is None:
        return health(PROGRESSING, "Pending", "claim is pending (possibly WaitForFirstConsumer)")
    if phase == "Lost":
        return health(DEGRADED, "Lost", "the bound volume is lost")
    return health(UNKNOWN, str(phase), "")


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


def hpa(obj: Obj, policy: HealthPolicy) -> Health:
    status = dict(status_of(obj))
    if not status.get("conditions"):
        raw = (meta_of(obj).get("annotations") or {}).get(_HPA_CONDITIONS_ANNOTATION)
        if raw:  # autoscaling/v1 keeps v2 conditions in an annotation
            with contextlib.suppress(ValueError):
                status["conditions"] = json.loads(raw)
    conds = conditions_of(status)
    if not conds:
        return health(PROGRESSING, "WaitingToAutoscale", "no autoscaling conditions yet")
    for ctype, reasons in _HPA_BAD.items():
        cond = conds.get(ctype)
        if cond_is(cond, "False") and cond is not None and cond.get("reason") in reasons:
            return from_condition(DEGRADED, cond)
    for ctype in ("AbleToScale", "ScalingLimited"):
        cond = conds.get(ctype)
        if cond_is(cond, "True") and cond is not None:
            return from_condition(HEALTHY, cond)
    return health(PROGRESSING, "WaitingToAutoscale", "autoscaler is not able to scale yet")


def crd(obj: Obj, policy: HealthPolicy) -> Health:
    conds = conditions_of(status_of(obj))
    names = conds.get("NamesAccepted")
    if cond_is(names, "False") and names is not None:
        return from_condition(DEGRADED, names, "NamesNotAccepted")
    nonstructural = conds.get("NonStructuralSchema")
    if cond_is(nonstructural, "True") and nonstructural is not None:
        return from_condition(DEGRADED, nonstructural, "NonStructuralSchema")
    established = conds.get("Established")
    if cond_is(established, "True") and established is not None:
        return from_condition(HEALTHY, established, "Established")
    if established is None or established.get("reason") == "Installing":
        return health(PROGRESSING, "Installing", "waiting for the CRD to be established")
    return from_condition(DEGRADED, established, "NotEstablished")


def apiservice(obj: Obj, policy: HealthPolicy) -> Health:
    available = conditions_of(status_of(obj)).get("Available")
    if cond_is(available, "True") and available is not None:
        return from_condition(HEALTHY, available, "Available")
    if available is None:
        return health(PROGRESSING, "WaitingForAvailable", "no Available condition yet")
    return from_condition(PROGRESSING, available, "NotAvailable")
