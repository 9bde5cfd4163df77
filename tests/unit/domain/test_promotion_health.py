"""The health the matrix shows after a verification round."""

from __future__ import annotations

from shiplane.domain.health import HealthStatus
from shiplane.domain.promotion_health import health_after_round


def test_reaching_health_is_recorded_once():
    first = health_after_round(outcome="running", reason="", state={"healthy": True}, before={})
    assert first == (HealthStatus.HEALTHY, "verified healthy")
    again = health_after_round(
        outcome="running", reason="", state={"healthy": True}, before={"healthy": True}
    )
    assert again is None


def test_a_health_failure_names_its_status():
    reason = "health Suspended: web is paused"
    assert health_after_round(outcome="failed", reason=reason, state={}, before={}) == (
        HealthStatus.SUSPENDED,
        reason,
    )
    other = health_after_round(outcome="failed", reason="health Missing: gone", state={}, before={})
    assert other is not None and other[0] is HealthStatus.DEGRADED


def test_a_check_failing_after_health_changes_nothing():
    state = {"healthy": True}
    assert (
        health_after_round(outcome="failed", reason="check x failed", state=state, before=state)
        is None
    )
