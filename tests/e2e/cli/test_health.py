"""`shiplane health ENV [APP]` against a real server that has a project (no engine: the
matrix is there, nothing is deployed yet)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.config import create_project
from tests.e2e.cli.conftest import Shiplane
from tests.support.serverproc import ServerProcess, running_server


@pytest.fixture(scope="module")
def project_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("health-server")
    create_project(workdir / "shop", lambda cluster: f"/nonexistent/{cluster}.kubeconfig")
    config = workdir / "shop" / "shiplane.yaml"
    with running_server(workdir, f"sqlite:///{workdir / 'db.sqlite'}", config=config) as server:
        yield server


def test_health_of_an_environment_lists_its_apps(
    shiplane: Shiplane, project_server: ServerProcess
) -> None:
    login = shiplane("login", project_server.url, "--token", project_server.admin_token)
    assert login.returncode == 0, login.stderr
    result = shiplane("health", "dev", "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted(r["app"] for r in rows) == ["api", "web"]
    assert all(r["health"] is None for r in rows)  # nothing deployed: no claim of health
    one = shiplane("health", "dev", "web")
    assert one.returncode == 0 and one.stdout.split()[:2] == ["APP", "HEALTH"]
    assert len(one.stdout.strip().splitlines()) == 2


def test_unknown_names_are_usage_errors(shiplane: Shiplane, project_server: ServerProcess) -> None:
    shiplane("login", project_server.url, "--token", project_server.admin_token)
    typo = shiplane("health", "stagin")
    assert typo.returncode == 2 and "environment 'stagin' is not defined" in typo.stderr
    app = shiplane("health", "dev", "wbe")
    assert app.returncode == 2 and "app 'wbe' is not defined" in app.stderr


def test_the_health_command_is_documented(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text()
    assert "shiplane health ENV [APP]" in docs and "shiplane health -f FILE" in docs
