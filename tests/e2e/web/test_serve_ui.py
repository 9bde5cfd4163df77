"""`shiplane serve` prints the UI's address; `--no-ui` serves the API only."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.api_project import PROJECT_YAML
from tests.support.serverproc import ServerProcess, running_server


def test_serve_prints_the_ui_address(ui_server: ServerProcess) -> None:
    assert f"Shiplane web UI on {ui_server.url}/ui/\n" in ui_server.logs()
    browser = httpx.get(ui_server.url + "/", headers={"Accept": "text/html"}, timeout=10)
    assert browser.status_code == 303 and browser.headers["location"] == "/ui/"


def test_no_ui_serves_the_api_only(tmp_path: Path) -> None:
    config = tmp_path / "shiplane.yaml"
    config.write_text(PROJECT_YAML)
    with running_server(
        tmp_path, f"sqlite:///{tmp_path / 'shiplane.db'}", config=config, extra_args=["--no-ui"]
    ) as server:
        ui = httpx.get(server.url + "/ui/login", timeout=10)
        root = httpx.get(server.url + "/", headers={"Accept": "text/html"}, timeout=10)
        logs = server.logs()
    assert ui.status_code == 404
    assert root.status_code == 200 and root.json()["links"]["docs"] == "/api/v1/docs"
    assert "web UI" not in logs
