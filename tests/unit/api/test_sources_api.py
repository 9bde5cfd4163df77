"""`GET /api/v1/sources[/{name}]`, `POST .../refresh` without an engine, and the CLI's
rendering of those answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from shiplane.cli.cmd_source import _source_table, source_columns
from shiplane.cli.tables import render_table
from shiplane.store import sources as store
from tests.unit.api.apphelpers import api_app, project

SOURCES = """
sources:
  checkout-image:
    image: {repository: registry.example/shop/checkout, constraint: ">=1 <2",
            credentials: {env: REGISTRY_AUTH}}
    apps: [checkout]
    interval: 1m
  config:
    git: {url: https://git.example/shop.git, branch: main}
    apps: [checkout]
"""
DIGEST = "sha256:" + "ab" * 32
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_sources_are_listed_with_state_and_shown(tmp_path: Path) -> None:
    with api_app(tmp_path, project(SOURCES)) as api:
        with api.database.session() as s:
            store.save_state(
                s, "checkout-image", kind="image", now=NOW, next_poll_at=NOW, healthy=True,
                reason=None, version="1.4.2", digest=DIGEST,
                artifact=f"registry.example/shop/checkout:1.4.2@{DIGEST}",
            )  # fmt: skip
            store.save_state(
                s, "config", kind="git", now=NOW, next_poll_at=NOW, healthy=False,
                reason="git ls-remote https://git.example/shop.git failed: not found",
            )  # fmt: skip
        viewer = api.token("viewer")
        listing = api.client.get("/api/v1/sources", headers=viewer)
        assert listing.status_code == 200
        items = listing.json()["items"]
        assert [i["name"] for i in items] == ["checkout-image", "config"]
        image, git = items
        assert image["healthy"] is True and image["version"] == "1.4.2"
        assert image["digest"] == DIGEST and image["select"] == "semver >=1 <2"
        assert image["interval"] == 60 and image["apps"] == ["checkout"]
        assert "REGISTRY_AUTH" not in listing.text  # where credentials come from: not shown
        assert git["healthy"] is False and "failed: not found" in git["reason"]
        assert git["select"] == "branch main"

        one = api.client.get("/api/v1/sources/config", headers=viewer)
        assert one.status_code == 200 and one.json()["kind"] == "git"
        missing = api.client.get("/api/v1/sources/confg", headers=viewer)
        assert missing.status_code == 404
        assert "sources: checkout-image, config" in missing.json()["detail"]

        # Refresh needs the engine (a server with a GitOps repository) and a promoter.
        assert api.client.post("/api/v1/sources/config/refresh", headers=viewer).status_code == 403
        refused = api.client.post("/api/v1/sources/config/refresh", headers=api.token("promoter"))
        assert refused.status_code == 409
        assert api.client.get("/api/v1/sources").status_code == 401

    console = Console(width=120, record=True)
    console.print(_source_table(image))
    shown = console.export_text()
    assert "semver >=1 <2" in shown and "60s (jittered)" in shown and "Healthy" in shown
    table = render_table(items, source_columns(), width=120)
    assert "Unhealthy" in table and "1.4.2" in table and "sha256:abababababa" in table


def test_a_project_without_sources_lists_none(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api:
        listing = api.client.get("/api/v1/sources", headers=api.token("viewer"))
    assert listing.json() == {"items": [], "next_cursor": None}


def test_release_listing_marks_unresolved_artifacts() -> None:
    from shiplane.cli.cmd_release import _artifacts_text

    release = {
        "artifacts": [
            {"app": "api", "ref": f"r.example/api:1@{DIGEST}", "unresolved": False},
            {"app": "web", "ref": "r.example/web:1", "unresolved": True},
        ]
    }
    assert _artifacts_text(release).splitlines() == [
        f"api=r.example/api:1@{DIGEST}",
        "web=r.example/web:1 (unresolved)",
    ]


def test_release_diff_marks_unresolved_artifacts() -> None:
    from shiplane.cli.cmd_views import _artifact

    assert _artifact({"ref": "r.example/web:1", "digest": None}) == "r.example/web:1 (unresolved)"
    pinned = {"ref": "r.example/web:1", "digest": None, "resolved_digest": DIGEST}
    assert _artifact(pinned) == f"r.example/web:1 ({DIGEST})"
    assert (
        _artifact({"ref": f"r.example/web@{DIGEST}", "digest": DIGEST}) == f"r.example/web@{DIGEST}"
    )


def test_status_marks_cells_that_deploy_a_mutable_tag() -> None:
    from shiplane.cli.cmd_status import matrix_plain

    matrix = {
        "environments": ["dev"],
        "apps": ["api", "web"],
        "cells": [
            {"app": "api", "environment": "dev", "release_alias": "r1", "health": "Healthy",
             "sync_status": "Synced", "unresolved": False},
            {"app": "web", "environment": "dev", "release_alias": "r1", "health": "Healthy",
             "sync_status": "Synced", "unresolved": True},
        ],
    }  # fmt: skip
    lines = matrix_plain(matrix, headers=False).splitlines()
    assert lines[0].split() == ["api", "r1", "Healthy/Synced"]
    assert lines[1].split() == ["web", "r1", "(unresolved)", "Healthy/Synced"]
