"""GET /api/v1/insights and the DORA gauges of /metrics, in process on SQLite, over a
history written by the store's own write functions (tests/support/insights_history.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from tests.support.api_project import PROJECT_YAML
from tests.support.insights_history import APPROVAL_WAIT, LEAD_TIME, RESTORE, write_history
from tests.unit.api.apphelpers import api_app, project

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
RANGE = {"since": BASE.isoformat(), "until": (BASE + timedelta(days=1)).isoformat()}


def prod_project() -> ProjectConfig:
    return load_project_text(
        PROJECT_YAML.replace(
            "prod: {cluster: local, namespace: prod, after: [staging]}",
            "prod: {cluster: local, namespace: prod, after: [staging], tier: production}",
        )
    )


def test_insights_answer_the_dora_metrics_and_the_bottleneck(tmp_path: Path) -> None:
    with api_app(tmp_path, prod_project()) as api:
        with api.database.session() as s:
            write_history(s, "checkout", BASE)
        response = api.client.get("/api/v1/insights", params=RANGE, headers=api.token("viewer"))
        assert response.status_code == 200, response.text
        body = response.json()
        for_app = api.client.get(
            "/api/v1/insights",
            params={**RANGE, "environment": "prod", "app": "checkout"},
            headers=api.token("viewer", environments=("prod",)),
        ).json()
    assert body["since"] == RANGE["since"].replace("+00:00", "Z")
    assert body["days"] == 1.0 and body["environment"] is None and body["app"] is None
    prod = body["production"]
    assert prod["environments"] == ["prod"]
    dora = prod["dora"]
    assert dora["deployments"] == 1 and dora["rollbacks"] == 1
    assert dora["deployments_per_day"] == 1.0 and dora["deployments_per_week"] == 7.0
    assert dora["change_failure_rate"] == 0.5
    assert dora["lead_time"] == {"count": 1, "p50_seconds": LEAD_TIME, "p90_seconds": LEAD_TIME}
    assert dora["time_to_restore"]["p50_seconds"] == RESTORE
    assert prod["flow"]["bottleneck"] == "gate:approval"
    assert prod["flow"]["gates"][0]["total_seconds"] == APPROVAL_WAIT
    envs = {e["environment"]: e for e in body["environments"]}
    assert list(envs) == ["dev", "staging", "prod"]
    assert envs["dev"]["tier"] == "development" and envs["dev"]["dora"]["lead_time"] == {
        "count": 0, "p50_seconds": None, "p90_seconds": None,
    }  # fmt: skip
    assert envs["staging"]["dora"]["deployments"] == 1
    assert [a["app"] for a in envs["prod"]["apps"]] == ["checkout"]
    assert for_app["environment"] == "prod" and for_app["app"] == "checkout"
    assert [e["environment"] for e in for_app["environments"]] == ["prod"]
    assert for_app["production"]["dora"] == dora


@pytest.mark.parametrize(
    ("params", "status", "detail", "hint"),
    [
        (
            {"environment": "prd"},
            422,
            "query.environment: environment 'prd'",
            "did you mean 'prod'?",
        ),
        ({"app": "chekout"}, 422, "query.app: app 'chekout'", "did you mean 'checkout'?"),
        (
            {"since": "2026-05-02", "until": "2026-05-01"},
            422,
            "query.since: since (2026-05-02T00:00:00Z) must be earlier than until",
            "give an earlier since, or a later until",
        ),
        (
            {"since": "2025-01-01", "until": "2026-05-01"},
            422,
            "query.since: the range",
            "ask for at most 366 days at a time",
        ),
        ({"since": "yesterday"}, 422, "query.since", None),
    ],
)
def test_bad_input_is_refused_with_what_to_do(
    tmp_path: Path, params: dict[str, str], status: int, detail: str, hint: str | None
) -> None:
    with api_app(tmp_path, project()) as api:
        response = api.client.get("/api/v1/insights", params=params, headers=api.token("viewer"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"].startswith(detail), problem
    if hint is not None:
        assert problem["hint"] == hint


def test_a_token_scoped_elsewhere_is_refused_and_anonymous_callers_too(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        scoped = api.token("viewer", environments=("dev",))
        refused = api.client.get("/api/v1/insights?environment=prod", headers=scoped)
        anonymous = api.client.get("/api/v1/insights")
    assert refused.status_code == 403 and "does not cover 'prod'" in refused.json()["detail"]
    assert anonymous.status_code == 401


def test_metrics_carry_dora_and_flow_gauges_from_the_database(tmp_path: Path) -> None:
    with api_app(tmp_path, prod_project()) as api:
        with api.database.session() as s:
            write_history(s, "checkout", BASE)
        text = api.client.get("/metrics").text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    prod = {"environment": "prod", "tier": "production"}
    assert value("shiplane_dora_deployments", app="", **prod) == 1
    assert value("shiplane_dora_deployments", app="checkout", **prod) == 1
    assert value("shiplane_dora_change_failure_rate", app="", **prod) == 0.5
    assert value("shiplane_dora_lead_time_seconds", app="", quantile="0.5", **prod) == LEAD_TIME
    assert value("shiplane_dora_time_to_restore_seconds", app="", quantile="0.9", **prod) == RESTORE
    assert value("shiplane_flow_gate_wait_seconds", gate="approval", **prod) == APPROVAL_WAIT
    assert value("shiplane_insights_window_seconds") == 30 * 86400
    # No data: no percentile sample and no rate, not a 0.
    dev = {"environment": "dev", "tier": "development", "app": ""}
    assert value("shiplane_dora_deployments", **dev) == 0
    assert value("shiplane_dora_lead_time_seconds", quantile="0.5", **dev) is None
    assert value("shiplane_dora_change_failure_rate", **dev) is None


def test_the_openapi_document_describes_insights(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        schema = api.client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/insights"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"since", "until", "environment", "app"}
    assert set(operation["responses"]) >= {"200", "401", "403", "422"}
    assert {"Insights", "Dora", "Flow", "Percentiles"} <= set(schema["components"]["schemas"])
