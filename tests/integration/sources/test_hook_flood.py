"""A flood of webhook deliveries for one push, on real parts: 50 registry notifications
POSTed at once to the `distribution` receiver of a real HTTP server (uvicorn on
127.0.0.1), whose source service reads Debian's docker-registry (TLS, htpasswd) and
records releases in SQLite. The flood is answered, coalesced into few looks, and makes
exactly one release."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shiplane.api.app import create_app
from shiplane.api.settings import ApiSettings
from shiplane.config import load_project_text
from shiplane.engine.promotions.releases import record_release
from shiplane.engine.sources import SourceService
from shiplane.store import releases as release_store
from shiplane.store.db import Database
from tests.support.inprocess_server import serving
from tests.support.oci_registry import OciRegistry
from tests.support.wait import wait_for
from tests.unit.sources import payloads as p

SECRET_ENV = "SHIPLANE_TEST_FLOOD_SECRET"
DELIVERIES = 50


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
    database.migrate()
    try:
        yield database
    finally:
        database.close()


def test_fifty_notifications_for_one_push_make_one_release(
    oci_registry: OciRegistry, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, p.SECRET)
    creds = tmp_path / "auth"
    creds.write_text(f"{oci_registry.user}:{oci_registry.password}\n")
    image = f"{oci_registry.host}/flood/web"
    project = load_project_text(f"""
apiVersion: shiplane/v1alpha1
project: flood
clusters: {{local: {{kubeconfig: ~/.kube/config}}}}
environments: {{dev: {{cluster: local, namespace: dev}}}}
apps: {{web: {{images: [{image}], manifests: {{path: apps/web}}}}}}
sources:
  web:
    image: {{repository: {image}, credentials: {{file: {creds}}}, caFile: {oci_registry.ca_file}}}
    apps: [web]
    interval: 1h
receivers:
  registry: {{type: distribution, secretEnv: {SECRET_ENV}}}
""")

    async def create(**fields: Any) -> Any:
        return await asyncio.to_thread(
            db.transact, lambda s: record_release(s, project=project, **fields)
        )

    sources = SourceService(db, project, create)
    app = create_app(
        ApiSettings(database_url=str(db.engine.url), project=project), database=db, sources=sources
    )
    digest = oci_registry.push_image("flood/web", "1.0.0")

    def deliver(n: int) -> int:
        envelope = p.distribution_envelope("flood/web", "1.0.0", oci_registry.host, f"flood-{n}")
        delivery = p.distribution(envelope)
        with httpx.Client(base_url=url, timeout=60) as client:
            answer = client.post(
                "/api/v1/hooks/registry", content=delivery.body, headers=dict(delivery.headers)
            )
        return answer.status_code

    with serving(app) as url:
        with concurrent.futures.ThreadPoolExecutor(DELIVERIES) as pool:
            statuses = list(pool.map(deliver, range(DELIVERIES)))
        assert statuses == [202] * DELIVERIES

        def settled() -> bool:
            states = sources.states()
            # A release, and no look running or merged (the service has no idle event).
            return bool(states.get("web") and states["web"].last_release and not sources._running)

        wait_for(settled, timeout=60, what="the refreshes to settle")
    assert 1 <= sources.runs <= 3, sources.runs  # coalesced: not one look per delivery
    with db.session(readonly=True) as s:
        releases = release_store.list_releases(s, limit=10).items
    assert len(releases) == 1
    assert [a.ref for a in releases[0].artifacts] == [f"{image}:1.0.0@{digest}"]
