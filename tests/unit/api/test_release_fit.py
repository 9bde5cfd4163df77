"""A release must fit the project: defined apps, images from the apps' own repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config.release_fit import ReleaseMisfitError
from tests.unit.api.apphelpers import api_app, project

CHECKOUT = "registry.example/shop/checkout:1.0.0"


def test_a_fitting_release_is_created(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        body = {
            "artifacts": {
                "checkout": CHECKOUT,
                "payments": "registry.example/shop/payments-worker:2",
            }
        }
        response = api.client.post("/api/v1/releases", json=body, headers=api.token())
    assert response.status_code == 201, response.text


def test_unknown_app_is_refused_with_a_suggestion_and_the_defined_apps(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        body = {"artifacts": {"chekout": CHECKOUT}}
        response = api.client.post("/api/v1/releases", json=body, headers=api.token())
        listed = api.client.get("/api/v1/releases", headers=api.token())
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert "'chekout' is not defined" in problem["detail"]
    assert "did you mean 'checkout'?" in problem["hint"]
    assert problem["allowed"] == ["checkout", "payments"]
    assert problem["field"] == "body.artifacts.chekout"
    assert listed.json()["items"] == []  # nothing was stored


def test_image_from_another_repository_is_refused_listing_the_allowed_ones(
    tmp_path: Path,
) -> None:
    with api_app(tmp_path, project()) as api:
        body = {"artifacts": {"checkout": "registry.example/shop/payments:1.0.0"}}
        response = api.client.post("/api/v1/releases", json=body, headers=api.token())
    assert response.status_code == 422
    problem = response.json()
    assert "'registry.example/shop/payments' is not one that app 'checkout'" in problem["detail"]
    assert problem["allowed"] == ["registry.example/shop/checkout"]
    assert "releases.allowImageOverrides" in problem["hint"]


def test_the_project_may_allow_image_overrides(tmp_path: Path) -> None:
    allowing = project("releases: {allowImageOverrides: true}\n")
    assert allowing.releases.allow_image_overrides
    with api_app(tmp_path, allowing) as api:
        other = {"artifacts": {"checkout": "registry.example/forks/checkout:1.0.0"}}
        unknown = {"artifacts": {"nope": CHECKOUT}}
        assert (
            api.client.post("/api/v1/releases", json=other, headers=api.token()).status_code == 201
        )
        # Overrides are about images: an app the project lacks can never be promoted.
        assert (
            api.client.post("/api/v1/releases", json=unknown, headers=api.token()).status_code
            == 422
        )


@pytest.mark.parametrize(
    "image",
    [
        " registry.example/shop/checkout:1",
        "registry.example/shop/checkout:1\n",
        "registry.example/shop/check\tout:1",
    ],
)
def test_image_references_with_whitespace_are_refused_at_creation(
    tmp_path: Path, image: str
) -> None:
    with api_app(tmp_path, project()) as api:
        response = api.client.post(
            "/api/v1/releases", json={"artifacts": {"checkout": image}}, headers=api.token()
        )
    assert response.status_code == 422
    assert "whitespace" in response.json()["detail"]


def test_without_a_project_any_app_is_accepted(tmp_path: Path) -> None:
    with api_app(tmp_path, None) as api:
        body = {"artifacts": {"anything": "registry.example/any/thing:1"}}
        assert (
            api.client.post("/api/v1/releases", json=body, headers=api.token()).status_code == 201
        )


def test_misfit_is_invalid_input() -> None:
    with pytest.raises(ReleaseMisfitError) as info:
        project().require_release_fits({"payments": "registry.example/shop/checkout:1"})
    assert isinstance(info.value, ValueError)
    assert info.value.details["allowed"] == [
        "registry.example/shop/payments",
        "registry.example/shop/payments-worker",
    ]
