"""Operational surface: probes, metrics, OpenAPI, routing errors, request ids, logs."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.api.helpers import assert_problem, create_token, image, unique_app
from tests.support.serverproc import ServerProcess, run_sql
from tests.support.wait import wait_for


def test_probes_and_openapi_need_no_token(api_server: ServerProcess) -> None:
    with api_server.client() as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json() == {"status": "ready"}
        document = anonymous.get("/api/v1/openapi.json").json()
        assert "/api/v1/releases" in document["paths"]
        assert "Problem" in document["components"]["schemas"]
        assert document["components"]["securitySchemes"]
        assert anonymous.get("/api/v1/docs").status_code == 200


def test_metrics_expose_requests_releases_and_audit_events(api_server: ServerProcess) -> None:
    app = unique_app()
    with api_server.admin() as admin:
        admin.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
        admin.get(f"/api/v1/releases/{app}-nothing")
    with api_server.client() as anonymous:
        text = anonymous.get("/metrics").text
    assert (
        'shiplane_http_requests_total{method="POST",route="/api/v1/releases",status="201"}' in text
    )
    # Labelled by the route template, never by the raw path.
    assert 'route="/api/v1/releases/{ref}",status="404"' in text
    assert f"{app}-nothing" not in text
    assert "shiplane_http_request_duration_seconds_bucket" in text
    assert "shiplane_releases_created_total" in text
    assert 'shiplane_audit_events_total{action="release.create"}' in text


def test_unknown_route_and_wrong_method_are_problems(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        assert_problem(admin.get("/api/v1/nothing-here"), 404, "no such endpoint", "nothing-here")
        assert_problem(admin.get("/nothing"), 404)
        wrong = admin.put("/api/v1/releases", json={})
        assert_problem(wrong, 405, "PUT")
        assert "GET" in wrong.headers["allow"]


def test_request_id_is_echoed_and_logged(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        response = admin.get("/api/v1/releases", headers={"X-Request-ID": "trace-abc-123"})
        assert response.headers["x-request-id"] == "trace-abc-123"
        generated = admin.get("/api/v1/releases").headers["x-request-id"]
        assert len(generated) >= 16
        unsafe = admin.get("/api/v1/releases", headers={"X-Request-ID": "bad id\twith spaces"})
        assert unsafe.headers["x-request-id"] != "bad id\twith spaces"

    def access_line() -> dict[str, object] | None:
        for line in api_server.stderr_path.read_text().splitlines():
            if "trace-abc-123" in line:
                return dict(json.loads(line))
        return None

    line = wait_for(access_line, timeout=10, what="the access log line of trace-abc-123")
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/releases"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float | int)


def test_tokens_never_appear_in_server_logs(api_server: ServerProcess) -> None:
    wrong = "shp_wrong-token-that-must-not-be-logged-123456"
    app = unique_app()
    with api_server.admin() as admin:
        created = create_token(admin, "promoter")
        with api_server.client(created) as promoter:
            promoter.post("/api/v1/releases", json={"artifacts": {app: image(app)}})
            promoter.get("/api/v1/tokens")  # 403
        with api_server.client(wrong) as bad:
            bad.get("/api/v1/releases")  # 401
        admin.get("/api/v1/releases", headers={"X-Request-ID": "last-request-marker"})
    wait_for(lambda: "last-request-marker" in api_server.logs(), timeout=10, what="the logs")
    logs = api_server.logs()
    assert "route" in logs  # the access log is there at all
    for secret in (api_server.admin_token, created, wrong):
        assert secret not in logs
    assert "Bearer" not in logs


@pytest.mark.postgres
def test_readyz_is_503_when_the_database_is_gone(
    postgres_url: str, tmp_path: pytest.TempPathFactory
) -> None:
    from pathlib import Path

    from tests.support.serverproc import postgres_database, running_server

    workdir = Path(str(tmp_path))
    with postgres_database(postgres_url) as url, running_server(workdir, url) as server:
        assert httpx.get(server.url + "/readyz").status_code == 200
        name = url.rsplit("/", 1)[1]
        run_sql(
            url.rsplit("/", 1)[0] + "/postgres",
            f'DROP DATABASE "{name}" WITH (FORCE)',
        )
        response = wait_for(
            lambda: (r := httpx.get(server.url + "/readyz")).status_code == 503 and r,
            timeout=15,
            what="readyz to report the database down",
        )
        assert_problem(response, 503, "database is not reachable")
        assert httpx.get(server.url + "/healthz").status_code == 200
