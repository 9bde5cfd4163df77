"""Problem details: validation messages name the field; the catch-all 500 leaks nothing."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shiplane.api.app import create_app
from shiplane.api.problems import type_for, validation_detail, validation_errors
from shiplane.api.settings import ApiSettings


def test_validation_detail_names_each_field() -> None:
    errors = [
        {"loc": ("body", "artifacts"), "msg": "Field required", "input": {}},
        {"loc": ("query", "limit"), "msg": "Input should be >= 1", "input": "0"},
        {"loc": ("body", "environments", 2), "msg": "bad", "input": "x"},
    ]
    assert validation_detail(errors) == (
        "body.artifacts: Field required; query.limit: Input should be >= 1; "
        "body.environments[2]: bad"
    )


def test_validation_errors_drop_inputs_which_may_be_secrets() -> None:
    summary = validation_errors([{"loc": ("body", "token"), "msg": "bad", "input": "shp_s3cret"}])
    assert summary == [{"field": "body.token", "message": "bad"}]


def test_problem_types_are_stable_slugs() -> None:
    assert type_for(404).endswith("/not-found")
    assert type_for(422).endswith("/unprocessable-content") or type_for(422).endswith(
        "/unprocessable-entity"
    )


def test_unexpected_exception_is_a_problem_without_internals(tmp_path: Path) -> None:
    app = create_app(ApiSettings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: /etc/passwd line 3")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-500"
    body = response.json()
    assert body["status"] == 500 and body["request_id"] == "req-500"
    assert "req-500" in body["detail"]
    assert "secret internals" not in response.text and "Traceback" not in response.text
