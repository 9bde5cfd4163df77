"""The apps x environments matrix from the loaded shiplane.yaml and the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from shiplane.store.db import Database
from shiplane.store.matrix import record_deployment
from tests.integration.api.helpers import image
from tests.support.serverproc import DatabaseFactory, ServerProcess, running_server

CONFIG = """\
apiVersion: shiplane/v1alpha1
project: shop
clusters:
  nonprod: {kubeconfig: ~/.kube/config, context: nonprod}
environments:
  prod: {cluster: nonprod, namespace: shop, after: [qa]}
  dev: {cluster: nonprod, namespace: shop-dev}
  qa: {cluster: nonprod, namespace: shop-qa, after: [dev]}
apps:
  checkout:
    images: [registry.example/shop/checkout]
    manifests: {path: apps/checkout, render: plain}
  payments:
    images: [registry.example/shop/payments]
    manifests: {path: apps/payments, render: plain}
"""


@pytest.fixture
def configured_server(
    backend: tuple[str, DatabaseFactory], tmp_path: Path
) -> Iterator[ServerProcess]:
    config = tmp_path / "shiplane.yaml"
    config.write_text(CONFIG)
    _name, make_database = backend
    with ExitStack() as stack:
        url = stack.enter_context(make_database(tmp_path))
        yield stack.enter_context(running_server(tmp_path, url, config=config))


def test_matrix_without_config_is_empty(api_server: ServerProcess) -> None:
    with api_server.admin() as admin:
        assert admin.get("/api/v1/matrix").json() == {
            "project": None,
            "environments": [],
            "apps": [],
            "cells": [],
            "pending": [],
            "holds": [],
            "freezes": [],
            "orphans": [],
        }


def test_matrix_shows_the_release_per_cell(configured_server: ServerProcess) -> None:
    with configured_server.admin() as admin:
        empty = admin.get("/api/v1/matrix").json()
        assert empty["project"] == "shop"
        assert empty["environments"] == ["dev", "qa", "prod"], "graph order"
        assert empty["apps"] == ["checkout", "payments"]
        assert len(empty["cells"]) == 6
        assert all(cell["release_id"] is None for cell in empty["cells"])

        release = admin.post(
            "/api/v1/releases", json={"artifacts": {"checkout": image("checkout")}}
        ).json()
        # Deployments are recorded by the engine (a later issue); here, straight in the store.
        database = Database.from_url(configured_server.database_url)
        try:
            with database.session() as session:
                record_deployment(
                    session,
                    environment="qa",
                    app="checkout",
                    release_id=release["id"],
                    git_commit="abc123",
                    sync_status="Synced",
                    health="Healthy",
                )
        finally:
            database.close()

        matrix = admin.get("/api/v1/matrix").json()
    cells = {(c["app"], c["environment"]): c for c in matrix["cells"]}
    deployed = cells[("checkout", "qa")]
    assert deployed["release_id"] == release["id"]
    assert deployed["release_alias"] == release["alias"]
    assert (deployed["health"], deployed["sync_status"]) == ("Healthy", "Synced")
    assert cells[("checkout", "prod")]["release_id"] is None
    assert cells[("payments", "qa")]["release_id"] is None
