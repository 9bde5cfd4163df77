"""GET /api/v1/insights and /metrics from a real `shiplane serve` on SQLite and
PostgreSQL: figures come from the database, so a restarted server answers the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shiplane.store.db import Database
from tests.support.api_project import PROJECT_YAML
from tests.support.insights_history import LEAD_TIME, RESTORE, write_history
from tests.support.serverproc import DatabaseFactory, new_admin_token, running_server

CONFIG = PROJECT_YAML.replace(
    "prod: {cluster: local, namespace: prod, after: [staging]}",
    "prod: {cluster: local, namespace: prod, after: [staging], tier: production}",
)


def test_insights_survive_a_restart_on_both_backends(
    backend: tuple[str, DatabaseFactory], tmp_path: Path
) -> None:
    config = tmp_path / "shiplane.yaml"
    config.write_text(CONFIG)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    params = {"since": base.isoformat(), "until": (base + timedelta(days=1)).isoformat()}
    _name, make_database = backend
    token = new_admin_token()  # the bootstrap token of the first start stays valid
    with make_database(tmp_path) as url:
        answers = []
        for run in range(2):
            with running_server(
                tmp_path / f"run{run}", url, config=config, admin_token=token
            ) as server:
                if run == 0:
                    db = Database.from_url(url)
                    try:
                        with db.session() as s:
                            write_history(s, "checkout", base)
                    finally:
                        db.close()
                with server.admin() as admin:
                    response = admin.get("/api/v1/insights", params=params)
                    assert response.status_code == 200, response.text
                    answers.append(response.json())
                    metrics = admin.get("/metrics").text
                assert 'shiplane_dora_deployments{app="checkout",environment="prod"' in metrics
    first, second = answers
    assert first == second
    dora = first["production"]["dora"]
    assert dora["lead_time"]["p50_seconds"] == LEAD_TIME
    assert dora["time_to_restore"]["p50_seconds"] == RESTORE
    assert (dora["changes_deployed"], dora["change_failures"]) == (2, 1)
