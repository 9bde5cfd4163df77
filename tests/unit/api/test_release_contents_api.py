"""`POST /releases` with chart versions and config commits (issue 14): stored, shown,
part of the identity, and refused when they do not fit."""

from __future__ import annotations

from pathlib import Path

from shiplane.config import load_project_text
from tests.support.api_project import PROJECT_YAML
from tests.unit.api.apphelpers import api_app

CHECKOUT = "registry.example/shop/checkout:1.0.0"
SHA = "0123456789abcdef0123456789abcdef01234567"
WITH_CHART = load_project_text(
    PROJECT_YAML.replace(
        "    manifests: {path: apps/checkout}\n",
        "    chart: {repository: 'https://charts.example/stable', name: checkout}\n"
        "    manifests: {path: apps/checkout, render: helm}\n",
    )
)


def test_charts_and_commits_are_stored_shown_and_make_another_release(tmp_path: Path) -> None:
    with api_app(tmp_path, WITH_CHART) as api:
        post = api.client.post
        plain = post(
            "/api/v1/releases", json={"artifacts": {"checkout": CHECKOUT}}, headers=api.token()
        )
        body = {
            "artifacts": {"checkout": CHECKOUT},
            "charts": {"checkout": "1.1.0@" + "ab" * 32},
            "commits": {"checkout": SHA.upper()},
        }
        first = post("/api/v1/releases", json=body, headers=api.token())
        again = post("/api/v1/releases", json=body, headers=api.token())
        shown = api.client.get(f"/api/v1/releases/{first.json()['id']}", headers=api.token())
    assert plain.status_code == 201 and plain.json()["charts"] == {}
    assert first.status_code == 201, first.text
    assert first.json()["id"] != plain.json()["id"]
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert shown.json()["charts"] == {"checkout": "1.1.0@sha256:" + "ab" * 32}
    assert shown.json()["commits"] == {"checkout": SHA}


def test_a_chart_for_an_app_without_chart_is_refused(tmp_path: Path) -> None:
    with api_app(tmp_path, WITH_CHART) as api:
        body = {
            "artifacts": {"payments": "registry.example/shop/payments:1"},
            "charts": {"payments": "1.0.0"},
        }
        response = api.client.post("/api/v1/releases", json=body, headers=api.token())
    assert response.status_code == 422
    assert "app 'payments' has no chart in shiplane.yaml" in response.json()["detail"]
    assert response.json()["field"] == "body.charts.payments"


def test_bad_versions_and_commits_are_refused_with_the_reason(tmp_path: Path) -> None:
    with api_app(tmp_path, WITH_CHART) as api:
        bad_chart = {"artifacts": {"checkout": CHECKOUT}, "charts": {"checkout": "latest"}}
        bad_commit = {"artifacts": {"checkout": CHECKOUT}, "commits": {"checkout": SHA[:7]}}
        no_image = {
            "artifacts": {"payments": "registry.example/shop/payments:1"},
            "commits": {"checkout": SHA},
        }
        answers = [
            api.client.post("/api/v1/releases", json=b, headers=api.token())
            for b in (bad_chart, bad_commit, no_image)
        ]
    assert [a.status_code for a in answers] == [422, 422, 422]
    assert "invalid chart version 'latest'" in answers[0].json()["detail"]
    assert "full commit sha" in answers[1].json()["detail"]
    assert "the release has no image for app 'checkout'" in answers[2].json()["detail"]
