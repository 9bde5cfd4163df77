"""`shiplane insights` against a real server (a shiplane.yaml with `tier: production`) and
a history in its database: the CLI shows what the API answers, tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shiplane.store.db import Database
from tests.e2e.cli.conftest import Shiplane
from tests.support.api_project import PROJECT_YAML
from tests.support.insights_history import LEAD_TIME, RESTORE, write_history
from tests.support.serverproc import ServerProcess, running_server

CONFIG = PROJECT_YAML.replace(
    "prod: {cluster: local, namespace: prod, after: [staging]}",
    "prod: {cluster: local, namespace: prod, after: [staging], tier: production}",
)
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


@pytest.fixture(scope="module")
def insights_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("insights-server")
    config = workdir / "shiplane.yaml"
    config.write_text(CONFIG)
    url = f"sqlite:///{workdir / 'shiplane.db'}"
    with running_server(workdir, url, config=config) as server:
        db = Database.from_url(url)
        try:
            with db.session() as s:
                write_history(s, "checkout", BASE)
        finally:
            db.close()
        yield server


@pytest.fixture
def cli(shiplane: Shiplane, insights_server: ServerProcess) -> Shiplane:
    logged = shiplane("login", insights_server.url, "--token", insights_server.admin_token)
    assert logged.returncode == 0, logged.stderr
    return shiplane


def test_insights_json_is_what_the_api_answers(
    cli: Shiplane, insights_server: ServerProcess
) -> None:
    since, until = BASE.isoformat(), (BASE + timedelta(days=1)).isoformat()
    shown = cli("insights", "--since", since, "--until", until, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    from_cli = json.loads(shown.stdout)
    with insights_server.admin() as admin:
        from_api = admin.get("/api/v1/insights", params={"since": since, "until": until}).json()
    assert from_cli == from_api
    dora = from_cli["production"]["dora"]
    assert dora["lead_time"]["p50_seconds"] == LEAD_TIME
    assert dora["time_to_restore"]["p50_seconds"] == RESTORE
    assert dora["change_failure_rate"] == 0.5


def test_insights_tables_over_the_last_week(cli: Shiplane) -> None:
    shown = cli("insights", "--since", "7d")
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.strip().endswith("(7 days)")
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:4] == ["ENVIRONMENT", "DEPLOYS", "PER-WEEK", "LEAD-P50"]
    assert lines[1].split() == [
        "(production)", "1", "1.0", "5h10m", "5h10m", "50%", "10m", "gate:approval",
    ]  # fmt: skip
    assert any(line.startswith("prod ") and "approval 2h" in line for line in lines)

    names = cli("insights", "-o", "name")
    assert names.stdout.splitlines() == ["dev", "staging", "prod"]

    wide = cli("insights", "--env", "prod", "--app", "checkout", "-o", "wide")
    assert wide.returncode == 0, wide.stderr
    rows = [line.split() for line in wide.stdout.splitlines()]
    assert rows[0][:3] == ["ENVIRONMENT", "TIER", "APP"]
    assert rows[4][:3] == ["prod", "production", "checkout"]


def test_insights_refuses_a_typo_and_a_bad_time(cli: Shiplane) -> None:
    typo = cli("insights", "--env", "prd")
    assert typo.returncode == 2
    assert "did you mean 'prod'" in typo.stderr
    bad = cli("insights", "--since", "last tuesday")
    assert bad.returncode == 2 and "neither a duration" in bad.stderr
    backwards = cli("insights", "--since", "1d", "--until", "2d")
    assert backwards.returncode == 2  # a bad range is a usage error, like a bad filter
    assert "must be earlier than until" in backwards.stderr
