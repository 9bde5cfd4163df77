"""Failed deliveries through a real `shiplane serve` (API) and the `shiplane` CLI, on
SQLite and PostgreSQL; the worker runs in the test process against the same database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shiplane.domain.clock import ManualClock
from shiplane.engine import notify
from shiplane.engine.notify import NotificationWorker, RetryPolicy
from shiplane.store.db import Database
from tests.integration.api.conftest import BACKENDS, _database_factory
from tests.integration.api.helpers import assert_problem, audit_count, create_token
from tests.integration.engine.notify.conftest import SECRET_ENV, project_with, promotion
from tests.integration.engine.notify.receiver import Receiver
from tests.support.serverproc import SHIPLANE, ServerProcess, running_server


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    make_database = _database_factory(request)
    with ExitStack() as stack:
        url = stack.enter_context(make_database(tmp_path))
        yield stack.enter_context(running_server(tmp_path, url))


def _cli(server: ServerProcess, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPLANE_SERVER": server.url, "SHIPLANE_TOKEN": token}
    return subprocess.run(
        [SHIPLANE, "notifications", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_failed_delivery_is_visible_and_retry_resends_it(
    server: ServerProcess, receiver: Receiver, webhook_secret: str
) -> None:
    project = project_with({"hook": {"webhook": {"url": receiver.url, "secretEnv": SECRET_ENV}}})
    db = Database.from_url(server.database_url)
    clock = ManualClock(datetime.now(UTC))
    worker = NotificationWorker(
        db, project, clock=clock, policy=RetryPolicy(max_attempts=2),
        environ={SECRET_ENV: webhook_secret},
    )  # fmt: skip
    try:
        with db.session() as s:
            notify.enqueue_event(s, project, "promotion.failed",
                                 promotion("prm-api", "Failed", reason="error rate 3%"),
                                 now=clock.now())  # fmt: skip
        receiver.status = 500
        for _ in range(3):
            asyncio.run(worker.deliver_due())
            clock.advance(timedelta(minutes=5))

        with server.admin() as admin:
            viewer = create_token(admin, "viewer")
            failed = admin.get("/api/v1/notifications", params={"status": "failed"}).json()
            (item,) = failed["items"]
            assert (item["status"], item["attempts"], item["last_error"]) == (
                "failed", 2, "HTTP 500: no"
            )  # fmt: skip
            assert item["payload"]["promotion"]["reason"] == "error rate 3%"
            assert admin.get("/api/v1/notifications", params={"status": "pending"}).json() == {
                "items": [],
                "next_cursor": None,
            }
            assert_problem(admin.get("/api/v1/notifications", params={"status": "lost"}), 422)
            assert_problem(admin.post("/api/v1/notifications/dlv-nope/retry"), 404, "dlv-nope")
            before = audit_count(admin)

        listed = _cli(server, viewer, "list", "--status", "failed", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert [d["id"] for d in json.loads(listed.stdout)["items"]] == [item["id"]]
        table = _cli(server, viewer, "list", "--status", "failed")
        # Tables show a unique id prefix without `dlv-` (issue 12); commands accept it.
        assert item["id"][4:18] in table.stdout and "HTTP 500" in table.stdout
        denied = _cli(server, viewer, "retry", item["id"])
        assert denied.returncode == 1 and "admin" in denied.stderr

        retried = _cli(server, server.admin_token, "retry", item["id"][4:18])  # a prefix
        assert retried.returncode == 0, retried.stderr
        assert "will be sent again" in retried.stdout
        again = _cli(server, server.admin_token, "retry", item["id"])
        assert again.returncode == 1 and "only a failed one" in again.stderr
        with server.admin() as admin:
            assert audit_count(admin) == before + 1
            event = admin.get("/api/v1/audit", params={"limit": 1}).json()["items"][0]
            assert (event["action"], event["subject"]) == ("notification.retry", item["id"])
            assert event["environment"] == "prod"

        receiver.status = 200
        asyncio.run(worker.deliver_due())
        (got,) = receiver.received
        assert got.verified and got.headers["x-shiplane-delivery"] == item["id"]
        with server.admin() as admin:
            shown = admin.get(f"/api/v1/notifications/{item['id']}").json()
        assert shown["status"] == "delivered" and shown["delivered_at"]
    finally:
        db.close()
    assert webhook_secret not in server.logs()
