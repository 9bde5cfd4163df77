"""Reading Flux's objects: revision formats, the Ready condition -> phase and reason."""

from __future__ import annotations

from typing import Any

import pytest

from shiplane.domain.health import HealthStatus
from shiplane.targets.base import InventoryEntry
from shiplane.targets.flux_status import (
    kustomization_status,
    live_health,
    revision_sha,
    source_problem,
    source_revision,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "a" * 64


@pytest.mark.parametrize(
    ("revision", "sha"),
    [
        (f"main@sha1:{SHA}", SHA),  # Flux v1 APIs
        (f"release/v2@sha1:{SHA}", SHA),  # a branch with a slash
        (f"main@sha256:{SHA256}", SHA256),  # SHA-256 repositories
        (f"main/{SHA}", SHA),  # Flux before the v1 APIs
        (f"feature/x/{SHA}", SHA),
        (f"sha1:{SHA}", SHA),  # a commit reference
        (SHA, SHA),
        (f"main@sha1:{SHA.upper()}", SHA),
        ("main@sha1:abc", None),  # not a whole sha
        ("v1.2.3", None),
        ("", None),
        (None, None),
    ],
)
def test_revision_sha(revision: str | None, sha: str | None) -> None:
    assert revision_sha(revision) == sha


def kustomization(
    ready: str | None,
    reason: str = "",
    message: str = "",
    *,
    applied: str | None = None,
    attempted: str | None = None,
    generation: int = 2,
    observed: int = 2,
    reconciling: bool = False,
) -> dict[str, Any]:
    conditions = []
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "reason": reason, "message": message})
    if reconciling:
        conditions.append({"type": "Reconciling", "status": "True", "reason": "Progressing"})
    status: dict[str, Any] = {"observedGeneration": observed, "conditions": conditions}
    if applied:
        status["lastAppliedRevision"] = f"main@sha1:{applied}"
    if attempted:
        status["lastAttemptedRevision"] = f"main@sha1:{attempted}"
    status["inventory"] = {
        "entries": [
            {"id": "shop_web_apps_Deployment", "v": "v1"},
            {"id": "shop_web__Service", "v": "v1"},
            {"id": "_shop__Namespace", "v": "v1"},
            {"id": "malformed", "v": "v1"},
        ]
    }
    return {"metadata": {"generation": generation}, "status": status}


def test_ready_at_the_commit_is_ready_and_healthy_with_the_inventory() -> None:
    obj = kustomization(
        "True",
        "ReconciliationSucceeded",
        f"Applied revision: main@sha1:{SHA}",
        applied=SHA,
        attempted=SHA,
    )
    status = kustomization_status(obj, applied_has_commit=True, attempted_has_commit=True)
    assert status.phase == "ready"
    assert status.health is HealthStatus.HEALTHY
    assert status.sync == "Synced"
    assert status.revision == SHA
    assert status.reason == "ReconciliationSucceeded"
    assert status.inventory == (
        InventoryEntry("apps/v1", "Deployment", "shop", "web"),
        InventoryEntry("v1", "Service", "shop", "web"),
        InventoryEntry("v1", "Namespace", None, "shop"),
    )


def test_ready_at_an_older_commit_is_still_progressing() -> None:
    obj = kustomization("True", "ReconciliationSucceeded", applied="b" * 40, attempted="b" * 40)
    status = kustomization_status(obj, applied_has_commit=False, attempted_has_commit=False)
    assert status.phase == "progressing"
    assert status.sync == "OutOfSync"


def test_ready_for_an_older_spec_is_progressing() -> None:
    obj = kustomization("True", applied=SHA, generation=3, observed=2)
    assert kustomization_status(obj, applied_has_commit=True, attempted_has_commit=True).phase == (
        "progressing"
    )


def test_ready_while_reconciling_again_is_progressing() -> None:
    obj = kustomization("True", applied=SHA, reconciling=True)
    status = kustomization_status(obj, applied_has_commit=True, attempted_has_commit=True)
    assert status.phase == "progressing"


@pytest.mark.parametrize("reason", ["BuildFailed", "HealthCheckFailed", "ReconciliationFailed"])
def test_not_ready_after_attempting_the_commit_fails_with_flux_words(reason: str) -> None:
    message = "kustomize build failed: accumulating resources: missing"
    obj = kustomization("False", reason, message, applied="b" * 40, attempted=SHA)
    status = kustomization_status(obj, applied_has_commit=False, attempted_has_commit=True)
    assert status.phase == "failed"
    assert (status.reason, status.message) == (reason, message)
    assert status.health is HealthStatus.DEGRADED
    assert status.summary == f"Failed ({reason}): {message}"


def test_a_failure_is_a_verdict_although_flux_left_observed_generation_behind() -> None:
    # kustomize-controller sets status.observedGeneration only when a reconcile succeeds.
    obj = kustomization("False", "HealthCheckFailed", "timeout", attempted=SHA, observed=-1)
    status = kustomization_status(obj, applied_has_commit=False, attempted_has_commit=True)
    assert status.phase == "failed"


def test_a_failure_of_an_older_commit_is_not_this_commits_verdict() -> None:
    obj = kustomization("False", "BuildFailed", "old", applied="b" * 40, attempted="b" * 40)
    status = kustomization_status(obj, applied_has_commit=False, attempted_has_commit=False)
    assert status.phase == "progressing"


@pytest.mark.parametrize("reason", ["ArtifactFailed", "DependencyNotReady"])
def test_waiting_for_a_source_or_dependency_is_progressing(reason: str) -> None:
    obj = kustomization("False", reason, "not yet", attempted=SHA)
    status = kustomization_status(obj, applied_has_commit=False, attempted_has_commit=True)
    assert status.phase == "progressing"


def test_no_conditions_yet_is_progressing_and_unknown_health() -> None:
    obj = kustomization(None)
    status = kustomization_status(obj, applied_has_commit=False, attempted_has_commit=False)
    assert status.phase == "progressing"
    assert live_health(obj) is HealthStatus.UNKNOWN


def test_live_health() -> None:
    assert live_health(kustomization("True")) is HealthStatus.HEALTHY
    assert live_health(kustomization("False", "HealthCheckFailed")) is HealthStatus.DEGRADED
    assert live_health(kustomization("Unknown", "Progressing")) is HealthStatus.PROGRESSING


def test_git_repository_source() -> None:
    repo = {
        "status": {
            "artifact": {"revision": f"main@sha1:{SHA}"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "GitOperationFailed",
                    "message": "failed to checkout",
                }
            ],
        }
    }
    assert source_revision(repo) == SHA
    assert source_problem(repo) == "GitOperationFailed: failed to checkout"
    assert source_problem({"status": {"conditions": []}}) is None
