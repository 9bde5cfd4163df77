"""The health a verification round shows for a promotion's apps. Pure, no I/O.

The version matrix shows what verification found: Healthy the first round health is
reached, and the failing status (Degraded or Suspended) when verification fails before
the apps ever became healthy. Anything else changes nothing (a check failing after
health was reached says nothing new about the objects' health).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shiplane.domain.health import HealthStatus

_FAILING = (HealthStatus.DEGRADED, HealthStatus.SUSPENDED)


def health_after_round(
    *,
    outcome: str,
    reason: str,
    state: Mapping[str, Any],
    before: Mapping[str, Any],
) -> tuple[HealthStatus, str] | None:
    """(health, reason) to record after a round that ended in `outcome` with `state`,
    given the verification `state` before it; None when nothing changed."""
    if state.get("healthy") and not before.get("healthy"):
        return HealthStatus.HEALTHY, "verified healthy"
    if outcome == "failed" and not state.get("healthy"):
        # The verifier words a health failure as "health <Status>: ...".
        named = reason.split(":", 1)[0].removeprefix("health ").strip()
        status = next((s for s in _FAILING if s.value == named), HealthStatus.DEGRADED)
        return status, reason
    return None
