"""An app removed from git with its objects left (prune disabled) shows as orphaned: in
the matrix API and in `shiplane status`; its history row says what was done."""

from __future__ import annotations

from pathlib import Path

from shiplane.cli.cmd_deploy import run_detail
from shiplane.cli.cmd_status import matrix_plain, matrix_table
from shiplane.store import deploys
from tests.unit.api.apphelpers import api_app, project

REASON = "removed from git at 0123456789ab, prune disabled: 3 objects left in the cluster"


def test_orphaned_cells_and_orphans_of_undefined_apps(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        with api.database.session() as s:
            for app in ("checkout", "payments"):
                deploys.update_deployment(
                    s, environment="prod", app=app, git_commit="c0ffee", sync_status="Synced",
                    health="Healthy",
                )  # fmt: skip
            deploys.mark_orphaned(s, "prod", "checkout", REASON)
            deploys.mark_orphaned(s, "prod", "legacy", "no longer defined in shiplane.yaml")
            # Drift reporting late must not make an orphaned cell look Synced again.
            deploys.update_deployment(s, environment="prod", app="checkout", sync_status="Synced")
        response = api.client.get("/api/v1/matrix", headers=api.token("viewer"))
        assert response.status_code == 200
        matrix = response.json()
    cells = {(c["app"], c["environment"]): c for c in matrix["cells"]}
    orphan = cells[("checkout", "prod")]
    assert orphan["orphaned"] is True and orphan["orphaned_reason"] == REASON
    assert orphan["sync_status"] == "Orphaned"
    assert cells[("payments", "prod")]["orphaned"] is False
    assert cells[("payments", "prod")]["sync_status"] == "Synced"
    assert cells[("checkout", "dev")]["orphaned"] is False  # never deployed
    assert matrix["orphans"] == [
        {"environment": "prod", "app": "checkout", "reason": REASON},
        {"environment": "prod", "app": "legacy", "reason": "no longer defined in shiplane.yaml"},
    ]
    text = matrix_plain(matrix, headers=True)
    assert "Healthy/Orphaned" in text and "Healthy/Synced" in text
    assert f"ORPHANED checkout in prod: {REASON}" in text
    assert "ORPHANED legacy in prod: no longer defined in shiplane.yaml" in text
    table = matrix_table(matrix)  # on a terminal: the same lines under the table
    assert not isinstance(table, str) and f"ORPHANED checkout in prod: {REASON}" in str(
        table.caption
    )


def test_an_orphaned_app_does_not_count_as_running_there(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api, api.database.session() as s:
        deploys.update_deployment(s, environment="prod", app="checkout", release_id=None)
        assert "checkout" in deploys.running_in(s, "prod")
        # A late drift status for a removed app (no row) brings nothing back.
        assert not deploys.update_deployment(
            s, environment="prod", app="gone", sync_status="OutOfSync", create=False
        )
        assert "gone" not in deploys.running_in(s, "prod")
        deploys.mark_orphaned(s, "prod", "checkout", REASON)
        assert "checkout" not in deploys.running_in(s, "prod")
        # Deployed again (back in git): part of the environment again.
        deploys.update_deployment(s, environment="prod", app="checkout", orphaned=None)
        assert "checkout" in deploys.running_in(s, "prod")


def test_history_rows_of_removed_apps_say_what_was_done() -> None:
    step = {"name": "remove", "outcome": "ok", "detail": "removed from git: deleted 2, kept 1"}
    assert run_detail({"steps": [step], "error": None}) == step["detail"]
    failed = {**step, "outcome": "failed", "detail": "refusing to remove ..."}
    assert run_detail({"steps": [failed], "error": "refusing ..."}) == "refusing ..."
    assert run_detail({"steps": [{**step, "name": "apply"}], "error": None}) == "-"
