"""Bad input at the API's edge: names are checked against the project with suggestions,
malformed JSON is a 400, error bodies stay short, and the OpenAPI document says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from tests.support.api_project import PROJECT_YAML
from tests.unit.api.apphelpers import api_app, project

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("path", "field", "suggestion"),
    [
        ("/api/v1/releases?app=chekout", "query.app", "checkout"),
        ("/api/v1/audit?environment=stagin", "query.environment", "staging"),
        ("/api/v1/audit?app=paymnts", "query.app", "payments"),
        ("/api/v1/history?environment=stagin", "query.environment", "staging"),
        ("/api/v1/history?app=chekout", "query.app", "checkout"),
        ("/api/v1/promotions?environment=prd", "query.environment", "prod"),
        ("/api/v1/promotions?state=faild", "query.state", "Failed"),
        ("/api/v1/events?environment=stagin", "query.environment", "staging"),
    ],
)
def test_unknown_names_in_filters_are_refused_with_a_suggestion(
    tmp_path: Path, path: str, field: str, suggestion: str
) -> None:
    with api_app(tmp_path, project()) as api:
        response = api.client.get(path, headers=api.token("viewer"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["detail"].startswith(f"{field}: ")
    assert problem["hint"] == f"did you mean '{suggestion}'?"
    assert problem["field"] == field


def test_known_names_and_any_case_of_a_state_are_accepted(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        viewer = api.token("viewer")
        for path in (
            "/api/v1/releases?app=checkout",
            "/api/v1/audit?environment=staging&app=payments",
            "/api/v1/history?environment=dev",
            "/api/v1/promotions?state=failed",
            "/api/v1/promotions?state=RolledBack&environment=prod",
        ):
            assert api.client.get(path, headers=viewer).status_code == 200, path


def test_a_typo_is_not_reported_as_a_scope_problem(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        scoped = api.token("viewer", environments=("dev",))
        typo = api.client.get("/api/v1/audit?environment=stagin", headers=scoped)
        outside = api.client.get("/api/v1/audit?environment=staging", headers=scoped)
    assert typo.status_code == 422 and "did you mean 'staging'" in typo.json()["hint"]
    assert outside.status_code == 403


def test_token_scopes_and_groups_are_checked_against_the_project(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        admin = api.token("admin")
        bad_env = api.client.post(
            "/api/v1/tokens",
            json={"role": "viewer", "environments": ["dev", "stagin"]},
            headers=admin,
        )
        bad_group = api.client.post(
            "/api/v1/tokens", json={"role": "approver", "groups": ["sre"]}, headers=admin
        )
        bad_role = api.client.post("/api/v1/tokens", json={"role": "admn"}, headers=admin)
        good = api.client.post(
            "/api/v1/tokens", json={"role": "viewer", "environments": ["dev"]}, headers=admin
        )
    assert bad_env.status_code == 422
    assert bad_env.json()["field"] == "body.environments"
    assert bad_env.json()["hint"] == "did you mean 'staging'?"
    assert bad_group.status_code == 422
    assert bad_group.json()["hint"] == "no groups are defined"
    assert bad_role.status_code == 422
    assert "did you mean 'admin'?" in bad_role.json()["detail"]
    assert good.status_code == 201


def test_groups_named_by_approval_policies_are_accepted(tmp_path: Path) -> None:
    with api_app(tmp_path, _project_with_approvers()) as api:
        admin = api.token("admin")
        ok = api.client.post(
            "/api/v1/tokens", json={"role": "approver", "groups": ["sre"]}, headers=admin
        )
        typo = api.client.post(
            "/api/v1/tokens", json={"role": "approver", "groups": ["sr"]}, headers=admin
        )
    assert ok.status_code == 201, ok.text
    assert typo.status_code == 422 and typo.json()["hint"] == "did you mean 'sre'?"


def _project_with_approvers() -> ProjectConfig:
    text = PROJECT_YAML.replace(
        "prod: {cluster: local, namespace: prod, after: [staging]}",
        "prod: {cluster: local, namespace: prod, after: [staging], approvals: {groups: [sre]}}",
    )
    return load_project_text(text)


@pytest.mark.parametrize("body", [b"{not json", b'{"artifacts": {"a": "b:1"}', b"\x00\x01"])
def test_malformed_json_is_a_400(tmp_path: Path, body: bytes) -> None:
    with api_app(tmp_path, project()) as api:
        response = api.client.post(
            "/api/v1/releases",
            content=body,
            headers={**api.token(), "Content-Type": "application/json"},
        )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"].startswith("body: not valid JSON")


def test_error_bodies_never_echo_unbounded_input(tmp_path: Path) -> None:
    huge = "x" * 5000
    with api_app(tmp_path, project()) as api:
        viewer = api.token("viewer")
        answers = [
            api.client.get(f"/api/v1/releases/{huge}", headers=viewer),
            api.client.get(f"/api/v1/history/{huge}", headers=viewer),
            api.client.get(f"/api/v1/nothing/{huge}", headers=viewer),
            api.client.get(f"/api/v1/audit?environment={'e' * 150}", headers=viewer),
            api.client.post(
                "/api/v1/releases", json={"artifacts": {huge: "r.example/a:1"}}, headers=api.token()
            ),
        ]
    for response in answers:
        assert 400 <= response.status_code < 500
        assert len(response.text) < 2500, response.text[:200]
        assert huge not in response.text


def test_openapi_declares_problem_json_for_every_4xx_and_state_enums(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        schema = api.client.get("/api/v1/openapi.json").json()
    seen = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    seen += 1
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
            if "requestBody" in operation:
                assert "400" in operation["responses"], (method, path)
    assert seen > 50
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    params = schema["paths"]["/api/v1/promotions"]["get"]["parameters"]
    state = next(p for p in params if p["name"] == "state")
    assert "Failed" in str(state["schema"]) and "RolledBack" in str(state["schema"])
    notifications = schema["paths"]["/api/v1/notifications"]["get"]["parameters"]
    status = next(p for p in notifications if p["name"] == "status")
    assert "delivered" in str(status["schema"])
