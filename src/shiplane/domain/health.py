"""Health and sync status: pure value types shared by the kube layer, the engine and the API.

Severity follows Argo CD's aggregation order, from best to worst:
Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
An application's health is the worst of its resources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def severity(self) -> int:
        """0 for Healthy, higher is worse (see the module docstring)."""
        return _SEVERITY[self]

    @property
    def is_terminal_failure(self) -> bool:
        """True when waiting longer will not help (a wait fails fast on it)."""
        return self is HealthStatus.DEGRADED


_SEVERITY: dict[HealthStatus, int] = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.SUSPENDED: 1,
    HealthStatus.PROGRESSING: 2,
    HealthStatus.MISSING: 3,
    HealthStatus.DEGRADED: 4,
    HealthStatus.UNKNOWN: 5,
}


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The most severe status; Healthy for an empty input."""
    result = HealthStatus.HEALTHY
    for status in statuses:
        if status.severity > result.severity:
            result = status
    return result


class SyncStatus(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Health:
    """The health of one object: a status, a short machine-friendly reason and a message."""

    status: HealthStatus
    reason: str = ""
    message: str = ""

    def __str__(self) -> str:
        parts = [str(self.status)]
        if self.reason:
            parts.append(f"({self.reason})")
        if self.message:
            parts.append(f": {self.message}")
        return " ".join(parts[:2]) + (parts[2] if len(parts) > 2 else "")

    def to_json(self) -> dict[str, str]:
        return {"status": str(self.status), "reason": self.reason, "message": self.message}
