"""What an Argo CD Application says about a commit, and what Shiplane asks of it: the pure
rules of targets/argocd_status.py, on Applications shaped as the controller writes them."""

from __future__ import annotations

from typing import Any

from shiplane.domain.health import HealthStatus
from shiplane.targets.argocd_status import (
    REFRESH_ANNOTATION,
    application_status,
    auto_syncs,
    degraded_without_details,
    error_conditions,
    inventory,
    operation_revision,
    operation_running,
    sync_request,
    synced_revision,
)
from shiplane.targets.base import InventoryEntry, TargetObject

OLD = "a" * 40
NEW = "b" * 40
OWNER = TargetObject("Application", "argocd", "shop-staging")


def app(
    *,
    sync: str = "Synced",
    revision: str = NEW,
    health: str = "Healthy",
    phase: str | None = "Succeeded",
    op_revision: str = NEW,
    message: str = "successfully synced (all tasks run)",
    pending: bool = False,
    resources: list[dict[str, Any]] | None = None,
    results: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    automated: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "sync": {"status": sync, "revision": revision},
        "health": {"status": health},
        "resources": resources
        if resources is not None
        else [
            {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
             "name": "web", "status": sync, "health": {"status": health}},
            {"version": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "web-config",
             "status": sync},
        ],
    }  # fmt: skip
    if phase is not None:
        status["operationState"] = {
            "phase": phase,
            "message": message,
            "operation": {"sync": {"revision": op_revision}},
            "syncResult": {"revision": op_revision, "resources": results or []},
        }
    if conditions:
        status["conditions"] = conditions
    found: dict[str, Any] = {"metadata": {"name": "shop-staging"}, "spec": {}, "status": status}
    if automated is not None:
        found["spec"]["syncPolicy"] = {"automated": automated}
    if pending:
        found["operation"] = {"sync": {"revision": NEW}}
    return found


def look(obj: dict[str, Any], *, synced: bool = True, operated: bool = True) -> Any:
    return application_status(
        obj, synced_has_commit=synced, operation_has_commit=operated, owner=OWNER
    )


def test_synced_and_healthy_at_the_commit_is_ready() -> None:
    status = look(app())
    assert status.phase == "ready"
    assert (status.sync, status.health, status.revision) == ("Synced", HealthStatus.HEALTHY, NEW)
    assert status.owner == OWNER
    assert status.inventory == (
        InventoryEntry("apps/v1", "Deployment", "shop", "web"),
        InventoryEntry("v1", "ConfigMap", "shop", "web-config"),
    )


def test_synced_at_an_older_commit_is_not_ready_even_when_healthy() -> None:
    status = look(app(revision=OLD, op_revision=OLD), synced=False, operated=False)
    assert status.phase == "progressing"
    assert status.sync == "OutOfSync" and status.reason == "OutOfSync"


def test_a_sync_under_way_is_not_ready_yet() -> None:
    running = look(app(phase="Running", message="waiting for healthy state"))
    assert running.phase == "progressing" and running.reason == "Syncing"
    assert "operation Running" in running.message
    # Asked for but not started: the controller has not cleared `operation` yet.
    assert look(app(pending=True)).phase == "progressing"


def test_a_progressing_app_at_the_commit_waits() -> None:
    status = look(app(health="Progressing"))
    assert status.phase == "progressing"
    assert status.message.startswith("sync Synced, health Progressing")


def test_a_failed_sync_of_the_commit_fails_with_argo_cds_own_words() -> None:
    invalid = 'Deployment.apps "web" is invalid: spec.replicas: must be >= 0'
    failing = [{"kind": "Deployment", "namespace": "shop", "name": "web", "status": "SyncFailed",
                "message": invalid}]  # fmt: skip
    status = look(
        app(sync="OutOfSync", phase="Failed", message="one or more objects failed to apply",
            results=failing),
        synced=True,
    )  # fmt: skip
    assert status.phase == "failed"
    assert status.reason == "SyncFailed"
    assert status.message == (
        "one or more objects failed to apply; Deployment shop/web: "
        'Deployment.apps "web" is invalid: spec.replicas: must be >= 0'
    )


def test_an_operation_error_names_the_comparison_error() -> None:
    status = look(
        app(sync="Unknown", health="Unknown", phase="Error", message="ComparisonError",
            conditions=[{"type": "ComparisonError", "message": "rpc error: path does not exist"}]),
        synced=False,
    )  # fmt: skip
    assert (status.phase, status.reason) == ("failed", "SyncError")
    assert status.message == "ComparisonError; ComparisonError: rpc error: path does not exist"


def test_a_failed_operation_of_an_older_commit_is_not_this_promotions_failure() -> None:
    status = look(app(phase="Failed", revision=OLD, op_revision=OLD), synced=False, operated=False)
    assert status.phase == "progressing"
    assert "last operation Failed" in status.message


def test_degraded_at_the_commit_fails_with_the_resources_health_messages() -> None:
    resources = [
        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
         "name": "web", "health": {"status": "Degraded",
                                   "message": 'Deployment "web" exceeded its progress deadline'}},
        {"version": "v1", "kind": "Service", "namespace": "shop", "name": "web",
         "health": {"status": "Healthy"}},
    ]  # fmt: skip
    status = look(app(health="Degraded", resources=resources))
    assert (status.phase, status.reason) == ("failed", "Degraded")
    assert status.health is HealthStatus.DEGRADED
    assert status.message == 'Deployment shop/web: Deployment "web" exceeded its progress deadline'


def test_many_details_are_cut_short() -> None:
    failing = [{"kind": "ConfigMap", "namespace": "shop", "name": f"c{i}", "status": "SyncFailed",
                "message": "denied"} for i in range(8)]  # fmt: skip
    status = look(app(phase="Failed", message="failed", results=failing))
    assert status.message.endswith("ConfigMap shop/c3: denied; and 4 more")


def test_revisions_and_running_are_read_from_status_and_operation() -> None:
    obj = app(revision=OLD, op_revision=NEW)
    assert synced_revision(obj) == OLD and operation_revision(obj) == NEW
    assert synced_revision({"status": {}}) is None and operation_revision({}) is None
    assert not operation_running(obj)
    assert operation_running(app(phase="Terminating"))
    assert operation_running(app(pending=True))


def test_error_conditions_only() -> None:
    conditions = [{"type": "SharedResourceWarning", "message": "also in app x"},
                  {"type": "InvalidSpecError", "message": "project missing"}]  # fmt: skip
    assert error_conditions(app(conditions=conditions)) == ["InvalidSpecError: project missing"]


def test_a_sync_request_refreshes_and_syncs_the_commit_with_prune() -> None:
    patch = sync_request(app(revision=OLD), NEW)
    assert patch["metadata"]["annotations"] == {REFRESH_ANNOTATION: "normal"}
    assert patch["operation"]["sync"] == {"revision": NEW, "prune": True}
    assert patch["operation"]["initiatedBy"] == {"username": "shiplane"}


def test_an_auto_syncing_app_or_a_running_sync_gets_a_refresh_only() -> None:
    assert auto_syncs(app(automated={"prune": True}))
    assert not auto_syncs(app(automated={"enabled": False}))
    assert not auto_syncs(app())
    assert "operation" not in sync_request(app(automated={}), NEW)
    assert "operation" not in sync_request(app(phase="Running"), NEW)
    assert inventory({"status": {}}) == ()


def test_degraded_without_resource_health_takes_the_live_reading() -> None:
    # Argo CD 3 without --persist-resource-health: status.resources carry no health.
    bare = [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "shop",
             "name": "web", "status": "Synced"}]  # fmt: skip
    obj = app(health="Degraded", resources=bare)
    status = look(obj)
    assert (status.phase, status.message) == ("failed", "Degraded")
    assert degraded_without_details(status, obj)
    live = ["Deployment shop/web: ProgressDeadlineExceeded: ReplicaSet has timed out"]
    told = application_status(
        obj, synced_has_commit=True, operation_has_commit=True, owner=OWNER, live_degraded=live
    )
    assert told.message == live[0]
    # With health in status.resources, the Application's own words are enough.
    assert not degraded_without_details(look(app(health="Degraded")), app(health="Degraded"))
    assert not degraded_without_details(look(app()), app())
