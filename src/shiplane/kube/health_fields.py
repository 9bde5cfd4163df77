"""The small readers every health rule uses, and the per-environment policy: pure.

Readers never raise on a malformed object: a missing or mistyped field reads as empty,
so a rule sees "not reported" rather than crashing (health.py turns what still fails
into Unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.domain.health import Health, HealthStatus

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


def status_of(obj: Obj) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def spec_of(obj: Obj) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def meta_of(obj: Obj) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def as_int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def conditions_of(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    result: dict[str, Mapping[str, Any]] = {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and "type" in cond:
            result[str(cond["type"])] = cond
    return result


def cond_is(cond: Mapping[str, Any] | None, value: str) -> bool:
    return cond is not None and str(cond.get("status")) == value


def health(status: HealthStatus, reason: str = "", message: str = "") -> Health:
    return Health(status, reason, message)


def from_condition(
    status: HealthStatus, cond: Mapping[str, Any], default_reason: str = ""
) -> Health:
    return Health(status, str(cond.get("reason") or default_reason), str(cond.get("message") or ""))


def generation_check(obj: Obj, *, require_observed: bool) -> Health | None:
    """Progressing when the controller has not yet observed the current spec.

    `require_observed`: for built-in workload controllers a missing observedGeneration
    also means "not observed yet"; for other kinds it means "this kind does not report it".
    """
    generation = meta_of(obj).get("generation")
    observed = status_of(obj).get("observedGeneration")
    if generation is None:
        return None
    if observed is None:
        if require_observed:
            return health(
                PROGRESSING, "NotObserved", "waiting for the controller to observe the spec"
            )
        return None
    if as_int(observed) < as_int(generation):
        return health(
            PROGRESSING,
            "ObservedGenerationStale",
            f"waiting for the controller to observe generation {generation} (observed {observed})",
        )
    return None
