"""The health rule for every other kind: kstatus conditions (Stalled, Reconciling),
then Ready/Available, then a `status.phase` by common names. Pure."""

from __future__ import annotations

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
    status_of,
)

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


def generic(obj: Obj, policy: HealthPolicy) -> Health:
    status = status_of(obj)
    if not status:
        return health(HEALTHY, "", "")
    conds = conditions_of(status)
    stalled = conds.get("Stalled")
    if cond_is(stalled, "True") and stalled is not None:
        return from_condition(DEGRADED, stalled, "Stalled")
    reconciling = conds.get("Reconciling")
    if cond_is(reconciling, "True") and reconciling is not None:
        return from_condition(PROGRESSING, reconciling, "Reconciling")
    for ctype in ("Ready", "Available"):
        cond = conds.get(ctype)
        if cond is None:
            continue
        if cond_is(cond, "True"):
            return from_condition(HEALTHY, cond, ctype)
        reason = str(cond.get("reason") or "")
        if cond_is(cond, "False") and _looks_failed(reason):
            return from_condition(DEGRADED, cond, f"Not{ctype}")
        return from_condition(PROGRESSING, cond, f"Not{ctype}")
    phase = status.get("phase")
    if isinstance(phase, str):
        lowered = phase.lower()
        message = str(status.get("message") or "")
        if lowered in _HEALTHY_PHASES:
            return health(HEALTHY, phase, message)
        if lowered in _DEGRADED_PHASES:
            return health(DEGRADED, phase, message)
        if lowered in _PROGRESSING_PHASES:
            return health(PROGRESSING, phase or "Pending", message)
        return health(UNKNOWN, phase, message)
    return health(HEALTHY, "", "")
