"""`POST /api/v1/hooks/{receiver}` through a real HTTP server.

The source service is an in-memory test double (tests/support/sources_double.py),
acceptable here: the real one lands in the artifact-sources branch, whose end-to-end
test pushes to a real OCI distribution registry that notifies this endpoint.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shiplane.api.app import create_app
from shiplane.api.settings import ApiSettings
from shiplane.config import load_project_text
from shiplane.config.models import ReceiverConfig
from shiplane.store import tokens
from shiplane.store.db import Database
from tests.integration.api.helpers import assert_problem
from tests.support.api_project import PROJECT_YAML
from tests.support.inprocess_server import serving
from tests.support.sources_double import RecordingSources
from tests.support.wait import wait_for
from tests.unit.sources import payloads as p

SECRET_ENV = "SHIPLANE_TEST_HOOK_SECRET"


@dataclass
class Served:
    url: str
    sources: RecordingSources
    admin: dict[str, str]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            return client.post(path, **kwargs)  # type: ignore[arg-type]

    def audit(self, action: str) -> list[dict[str, object]]:
        with httpx.Client(base_url=self.url, headers=self.admin, timeout=30) as client:
            items = client.get("/api/v1/audit", params={"limit": 200}).json()["items"]
        return [e for e in items if e["action"] == action]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv(SECRET_ENV, p.SECRET)
    receivers = {
        name: ReceiverConfig.model_validate({"type": kind, "secretEnv": SECRET_ENV, **extra})
        for name, kind, extra in (
            ("registry", "distribution", {}),
            ("gh", "github", {"maxBodyBytes": 4096}),
            ("ci", "generic", {"sources": ["web"]}),
        )
    }
    project = load_project_text(PROJECT_YAML).model_copy(update={"receivers": receivers})
    database = Database.from_url(f"sqlite:///{tmp_path / 'api.db'}")
    database.migrate()
    with database.session() as s:
        _record, token = tokens.create_token(
            s, name="admin", role="admin", environments=(), created_by="test"
        )
    sources = RecordingSources(
        images={("127.0.0.1:5000", "shop/web"): ["web", "web-canary"]},
        git={("https://github.com/acme/config.git", "refs/heads/main"): ["config"]},
    )
    settings = ApiSettings(database_url=str(database.engine.url), project=project)
    app = create_app(settings, database=database, sources=sources)
    try:
        with serving(app) as url:
            yield Served(url, sources, {"Authorization": f"Bearer {token}"})
    finally:
        database.close()


def test_a_registry_push_answers_202_and_refreshes_the_matching_sources(served: Served) -> None:
    served.sources.refresh_delay = 1.0
    delivery = p.distribution(p.distribution_envelope())
    response = served.post(
        "/api/v1/hooks/registry", content=delivery.body, headers=dict(delivery.headers)
    )
    assert response.status_code == 202, response.text
    assert served.sources.refreshed == []  # answered before the (slow) refresh ran
    body = response.json()
    assert body["matched"] == ["web", "web-canary"]
    assert body["changes"] == ["127.0.0.1:5000/shop/web:1.4.2"]
    wait_for(lambda: served.sources.refreshed, timeout=30, what="the refresh")
    assert served.sources.refreshed[0][0] == ("web", "web-canary")
    [event] = served.audit("hook.received")
    assert event["actor"] == "hook:registry"
    assert event["details"]["matched"] == ["web", "web-canary"]
    with httpx.Client(base_url=served.url) as client:
        metrics = client.get("/metrics").text
    assert 'shiplane_hook_deliveries_total{outcome="accepted",receiver="registry"} 1.0' in metrics


def test_refusals_are_specific_problems_and_leave_no_secret(served: Served) -> None:
    forged = p.github("push", p.github_push(), secret="not-the-right-secret")
    response = served.post("/api/v1/hooks/gh", content=forged.body, headers=dict(forged.headers))
    problem = assert_problem(response, 401, "X-Hub-Signature-256 signature does not match")
    assert problem["type"].endswith("/hook-bad-signature")
    assert response.headers["www-authenticate"].startswith("Signature")

    unknown = served.post("/api/v1/hooks/nope", content=b"{}")
    assert assert_problem(unknown, 404, "no receiver named 'nope'")["reason"] == "unknown-receiver"

    stale = p.generic({"images": ["127.0.0.1:5000/shop/web:2"]}, timestamp=1_000_000_000)
    response = served.post("/api/v1/hooks/ci", content=stale.body, headers=dict(stale.headers))
    assert assert_problem(response, 401)["reason"] == "stale"

    garbage = p.github("push", "not an object")
    response = served.post("/api/v1/hooks/gh", content=garbage.body, headers=dict(garbage.headers))
    assert assert_problem(response, 400)["reason"] == "malformed"

    refused = served.audit("hook.refused")
    assert sorted(e["details"]["reason"] for e in refused) == [
        "bad-signature",
        "malformed",
        "stale",
        "unknown-receiver",
    ]
    assert p.SECRET not in json.dumps(refused)
    assert served.sources.refreshed == [] and served.audit("hook.received") == []


def test_a_replayed_delivery_is_refused(served: Served) -> None:
    delivery = p.github("push", p.github_push())
    first = served.post("/api/v1/hooks/gh", content=delivery.body, headers=dict(delivery.headers))
    assert first.status_code == 202 and first.json()["matched"] == ["config"]
    again = served.post("/api/v1/hooks/gh", content=delivery.body, headers=dict(delivery.headers))
    assert assert_problem(again, 409, "already received")["reason"] == "replayed"
    assert len(served.audit("hook.received")) == 1


def test_an_oversized_body_is_refused_before_it_is_read(served: Served) -> None:
    big = b'{"pad": "' + b"x" * 5000 + b'"}'
    declared = served.post("/api/v1/hooks/gh", content=big, headers={"X-GitHub-Event": "push"})
    assert assert_problem(declared, 413, "4096 bytes")["reason"] == "too-large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        for _ in range(10):
            yield b"x" * 1000

    streamed = served.post("/api/v1/hooks/gh", content=chunks(), headers={"X-GitHub-Event": "push"})
    assert_problem(streamed, 413)
    assert [e["details"]["reason"] for e in served.audit("hook.refused")] == ["too-large"] * 2


def test_the_allow_list_limits_a_generic_ci_receiver(served: Served) -> None:
    delivery = p.generic({"images": ["127.0.0.1:5000/shop/web:2.0.0"]}, timestamp=int(time.time()))
    response = served.post(
        "/api/v1/hooks/ci", content=delivery.body, headers=dict(delivery.headers)
    )
    assert response.status_code == 202, response.text
    assert response.json()["matched"] == ["web"]
    wait_for(lambda: served.sources.refreshed, timeout=30, what="the refresh")
    assert served.sources.refreshed[0][0] == ("web",)
    assert served.audit("hook.received")[0]["details"]["not_allowed"] == ["web-canary"]


def test_a_flood_of_deliveries_is_answered_and_each_asks_one_refresh(served: Served) -> None:
    """The service coalesces refreshes per source (engine/sources_port.py); the intake
    only has to answer every distinct delivery and ask for the matched sources."""
    responses = []
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for n in range(30):
            envelope = p.distribution_envelope(tag=f"1.0.{n}", ids=f"flood-{n}")
            delivery = p.distribution(envelope)
            responses.append(
                client.post(
                    "/api/v1/hooks/registry", content=delivery.body, headers=dict(delivery.headers)
                )
            )
    assert [r.status_code for r in responses] == [202] * 30
    wait_for(lambda: len(served.sources.refreshed) == 30, timeout=30, what="30 refresh requests")
    assert {names for names, _reason in served.sources.refreshed} == {("web", "web-canary")}
    # The same envelope again (the registry's retry) is one delivery, not two.
    delivery = p.distribution(p.distribution_envelope(tag="1.0.0", ids="flood-0"))
    again = served.post(
        "/api/v1/hooks/registry", content=delivery.body, headers=dict(delivery.headers)
    )
    assert again.status_code == 409


def test_the_documented_curl_snippet_of_the_generic_receiver_is_accepted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/sources.md's shell example, run as written (curl and openssl) against the
    server: the doc and the receiver cannot drift apart."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "sources.md").read_text()
    section = doc.split("### The generic receiver", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "docs/sources.md lost the generic receiver's example"
    script = match.group(1).replace("https://shiplane.example", served.url)
    env = {**os.environ, "SHIPLANE_HOOK_CI": p.SECRET}
    result = subprocess.run(
        ["bash", "-eu", "-o", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changes"] == ["registry.example:5000/shop/web:1.4.2"]
    assert len(served.audit("hook.received")) == 1
