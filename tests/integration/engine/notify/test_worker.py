"""The delivery worker against a real receiver on 127.0.0.1, on SQLite and PostgreSQL.

Backoff is driven by a manual clock (no sleeping); one test runs in real time with short
backoff. The receiver verifies every signature with the snippet of docs/notifications.md.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy import text

from shiplane.config import ProjectConfig
from shiplane.domain.clock import ManualClock
from shiplane.engine import notify
from shiplane.engine.notify import NotificationWorker, RetryPolicy
from shiplane.store import outbox
from shiplane.store.db import Database
from tests.integration.engine.notify.conftest import SECRET_ENV, project_with, promotion
from tests.integration.engine.notify.receiver import Receiver
from tests.support.wait import wait_for

EVENTS = [
    "promotion.waiting_for_approval",
    "promotion.frozen",
    "promotion.failed",
    "promotion.rolled_back",
]
FAST = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5))
AUTH_HEADER = "Bearer hdr-" + "s3cr3t" * 4


def _webhook_project(receiver: Receiver, **extra: Any) -> ProjectConfig:
    return project_with(
        {"hook": {"webhook": {"url": receiver.url, "secretEnv": SECRET_ENV, **extra}}}
    )


def _enqueue_story(db: Database, project: ProjectConfig, promotions: list[str]) -> int:
    """Four events per promotion, interleaved across promotions, one transaction each."""
    count = 0
    for event in EVENTS:
        for pid in promotions:
            with db.session() as s:
                count += len(notify.enqueue_event(s, project, event, promotion(pid, reason="x")))
    return count


def _drain(worker: NotificationWorker, clock: ManualClock, *, passes: int, step: timedelta) -> None:
    for _ in range(passes):
        asyncio.run(worker.deliver_due())
        clock.advance(step)


def _statuses(db: Database) -> dict[str, int]:
    with db.session(readonly=True) as s:
        rows = s.execute(
            text("SELECT status, COUNT(*) FROM notification_deliveries GROUP BY status")
        ).all()
    return {status: n for status, n in rows}


def _assert_in_order_once(received: list[Any], total: int) -> None:
    ids = [r.headers["x-shiplane-delivery"] for r in received]
    assert len(ids) == len(set(ids)) == total, "a delivery arrived twice or went missing"
    assert all(r.verified for r in received), "a signature did not verify"
    per_promotion: dict[str, list[int]] = defaultdict(list)
    for r in received:
        body = r.json
        per_promotion[body["promotion"]["id"]].append(body["sequence"])
        assert r.headers["x-shiplane-event"] == body["event"]
    for pid, sequences in per_promotion.items():
        assert sequences == sorted(sequences) == list(range(1, len(EVENTS) + 1)), pid


def test_receiver_down_then_up_every_event_arrives_in_order(
    db: Database, receiver: Receiver, webhook_secret: str
) -> None:
    project = _webhook_project(receiver)
    clock = ManualClock(datetime.now(UTC))
    worker = NotificationWorker(
        db, project, clock=clock, policy=FAST, environ={SECRET_ENV: webhook_secret}
    )
    total = _enqueue_story(db, project, ["prm-a", "prm-b", "prm-c"])
    assert total == 12

    receiver.stop()  # down: the port is closed
    _drain(worker, clock, passes=4, step=timedelta(minutes=1))
    receiver.status = 503  # up again, but failing
    receiver.start()
    _drain(worker, clock, passes=3, step=timedelta(minutes=1))
    assert receiver.received == [] and receiver.refused > 0
    assert _statuses(db) == {"pending": 12}
    with db.session(readonly=True) as s:
        heads = outbox.list_deliveries(s, status="pending").items
    # Only each promotion's first event was ever tried; the others wait behind it.
    assert {d.sequence for d in heads if d.attempts > 0} == {1}
    assert all("HTTP 503" in (d.last_error or "") or "Connect" in (d.last_error or "")
               for d in heads if d.attempts > 0)  # fmt: skip

    receiver.status = 200
    for _ in range(40):
        if _statuses(db) == {"delivered": 12}:
            break
        _drain(worker, clock, passes=1, step=timedelta(minutes=5))
    assert _statuses(db) == {"delivered": 12}
    _assert_in_order_once(receiver.received, 12)
    # Delivered rows are never sent again.
    _drain(worker, clock, passes=3, step=timedelta(hours=1))
    assert len(receiver.received) == 12


def test_real_time_with_short_backoff(
    db: Database, receiver: Receiver, webhook_secret: str
) -> None:
    project = _webhook_project(receiver)
    policy = RetryPolicy(base=timedelta(milliseconds=50), cap=timedelta(milliseconds=200))
    worker = NotificationWorker(
        db, project, policy=policy, environ={SECRET_ENV: webhook_secret}, poll_interval=0.1
    )
    receiver.status = 503
    total = _enqueue_story(db, project, ["prm-r1", "prm-r2"])

    async def scenario() -> None:
        worker.start()
        try:
            await asyncio.to_thread(
                wait_for, lambda: receiver.refused >= 4, timeout=30, what="failed attempts"
            )
            receiver.status = 200
            worker.wake()
            await asyncio.to_thread(
                wait_for, lambda: len(receiver.received) >= total, timeout=60, what="all events"
            )
        finally:
            await worker.stop()

    asyncio.run(scenario())
    _assert_in_order_once(receiver.received, total)
    assert _statuses(db) == {"delivered": total}


def test_failed_after_max_attempts_and_no_secret_is_stored_or_logged(
    db: Database, receiver: Receiver, webhook_secret: str
) -> None:
    project = _webhook_project(receiver, headers={"Authorization": AUTH_HEADER})
    clock = ManualClock(datetime.now(UTC))
    policy = RetryPolicy(max_attempts=3, base=timedelta(seconds=1), cap=timedelta(seconds=5))
    worker = NotificationWorker(
        db, project, clock=clock, policy=policy, environ={SECRET_ENV: webhook_secret}
    )
    with db.session() as s:
        notify.enqueue_event(
            s, project, "promotion.failed", promotion("prm-f", "Failed"), now=clock.now()
        )
    receiver.status = 500
    with structlog.testing.capture_logs() as logs:
        _drain(worker, clock, passes=6, step=timedelta(seconds=10))
    assert _statuses(db) == {"failed": 1}
    with db.session(readonly=True) as s:
        (failed,) = outbox.list_deliveries(s, status="failed").items
    assert failed.attempts == 3 and failed.last_error == "HTTP 500: no"
    assert receiver.refused == 3

    # The receiver got the secret header; the database and the logs never saw a secret.
    stored = json.dumps(_raw_rows(db))
    logged = json.dumps(logs, default=str)
    assert any(e["event"] == "notification failed for good" for e in logs)
    for secret in (webhook_secret, AUTH_HEADER, receiver.url):
        assert secret not in stored
        assert secret not in logged

    # Retried after the receiver is fixed: sent once more, verified.
    receiver.status = 200
    with db.session() as s:
        outbox.reset_failed(s, failed.id, now=clock.now())
    _drain(worker, clock, passes=1, step=timedelta(seconds=1))
    assert _statuses(db) == {"delivered": 1}
    (got,) = receiver.received
    assert got.verified and got.headers["authorization"] == AUTH_HEADER
    assert got.headers["x-shiplane-delivery"] == failed.id


def _raw_rows(db: Database) -> list[list[str]]:
    with db.session(readonly=True) as s:
        rows = s.execute(text("SELECT * FROM notification_deliveries")).all()
    return [[str(v) for v in row] for row in rows]


def test_missing_secret_variable_is_reported_without_sending(
    db: Database, receiver: Receiver
) -> None:
    project = _webhook_project(receiver)
    clock = ManualClock(datetime.now(UTC))
    worker = NotificationWorker(db, project, clock=clock, policy=FAST, environ={})
    with db.session() as s:
        notify.enqueue_event(s, project, "promotion.succeeded", promotion("prm-m", "Succeeded"),
                             now=clock.now())  # fmt: skip
    _drain(worker, clock, passes=1, step=timedelta(seconds=1))
    with db.session(readonly=True) as s:
        (row,) = outbox.list_deliveries(s).items
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == f"the environment variable {SECRET_ENV} (webhook secret) is not set"
    assert receiver.received == [] and receiver.refused == 0


def test_slack_payload(db: Database, receiver: Receiver) -> None:
    project = project_with({"chat": {"slack": {"urlEnv": "SLACK_URL"}}})
    clock = ManualClock(datetime.now(UTC))
    worker = NotificationWorker(
        db, project, clock=clock, environ={"SLACK_URL": receiver.url.replace("/hook", "/slack")}
    )
    approvals = {"received": 1, "required": 2}
    with db.session() as s:
        notify.enqueue_event(s, project, "promotion.waiting_for_approval",
                             promotion("prm-s", approvals=approvals),
                             now=clock.now(), base_url="https://shiplane.example")  # fmt: skip
    _drain(worker, clock, passes=1, step=timedelta(seconds=1))
    (got,) = receiver.received
    assert got.path == "/slack"
    assert "x-shiplane-signature" not in got.headers
    message = got.json
    line = "checkout 1.4.2 (rel-3f9c2a) is waiting for approval in prod — 1 of 2 approvals"
    assert message["text"] == line
    section, context = message["blocks"]
    assert section["type"] == "section" and line in section["text"]["text"]
    assert context["type"] == "context"
    footer = context["elements"][0]["text"]
    assert "prm-s" in footer and "alice" in footer
    assert "<https://shiplane.example/api/v1/promotions/prm-s|details>" in footer


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_never_send_a_row_twice(
    db: Database, db_url: str, receiver: Receiver, webhook_secret: str
) -> None:
    project = _webhook_project(receiver)
    promotions = [f"prm-{i:02d}" for i in range(15)]
    total = _enqueue_story(db, project, promotions)
    second_db = Database.from_url(db_url)
    errors: list[BaseException] = []

    def run_worker(database: Database) -> None:
        worker = NotificationWorker(
            database, project, policy=FAST, environ={SECRET_ENV: webhook_secret}, batch=3
        )
        try:
            for _ in range(500):
                if not asyncio.run(worker.deliver_due()) and _statuses(database) == {
                    "delivered": total
                }:
                    return
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run_worker, args=(d,)) for d in (db, second_db)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        second_db.close()
    assert errors == []
    assert _statuses(db) == {"delivered": total}
    _assert_in_order_once(receiver.received, total)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_skip_locked_claims_are_disjoint_and_do_not_wait(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        for i in range(6):
            outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.succeeded",
                           promotion_id=f"prm-{i}", payload={}, now=now)  # fmt: skip
    lease = timedelta(minutes=1)
    with db.session() as first:
        mine = outbox.claim_due(first, now=now, lease=lease, limit=4)
        # The first transaction still holds its row locks: the second skips those rows
        # instead of waiting for them (a wait would hang this test until its timeout).
        with db.session() as second:
            theirs = outbox.claim_due(second, now=now, lease=lease, limit=10)
    assert len(mine) == 4 and len(theirs) == 2
    assert not {c.id for c in mine} & {c.id for c in theirs}
