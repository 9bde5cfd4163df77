"""The outbox on SQLite and PostgreSQL: enqueue in the caller's transaction, sequence
per promotion, claims that keep the order, fencing, retry of failed deliveries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from shiplane.engine import notify
from shiplane.store import outbox
from shiplane.store.db import Database
from tests.integration.engine.notify.conftest import project_with, promotion

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=40)
CHANNELS = {"hook": "webhook", "chat": "slack"}


def _project() -> object:
    return project_with(
        {
            "hook": {"webhook": {"url": "http://127.0.0.1:9/h", "secretEnv": "X_SECRET"}},
            "chat": {"slack": {"url": "http://127.0.0.1:9/s", "events": ["promotion.succeeded"]}},
        }
    )


def test_enqueue_commits_and_rolls_back_with_the_caller(db: Database) -> None:
    with db.session() as s:
        outbox.enqueue(s, channels=CHANNELS, event="promotion.succeeded", promotion_id="prm-1",
                       payload={"x": 1}, now=T0)  # fmt: skip
    with pytest.raises(RuntimeError), db.session() as s:
        outbox.enqueue(s, channels=CHANNELS, event="promotion.failed", promotion_id="prm-2",
                       payload={"x": 2}, now=T0)  # fmt: skip
        raise RuntimeError("the state change failed")
    with db.session(readonly=True) as s:
        page = outbox.list_deliveries(s)
    assert sorted((d.promotion_id, d.channel) for d in page.items) == [
        ("prm-1", "chat"),
        ("prm-1", "hook"),
    ]
    assert all(d.status == "pending" and d.sequence == 1 for d in page.items)
    assert all(d.payload == {"x": 1, "sequence": 1} for d in page.items)


def test_enqueue_event_picks_subscribed_channels(db: Database) -> None:
    project = _project()
    with db.session() as s:
        waiting = notify.enqueue_event(
            s,
            project,
            "promotion.waiting_for_approval",
            promotion("prm-a"),
            now=T0,  # type: ignore[arg-type]
        )
        done = notify.enqueue_event(
            s,
            project,
            "promotion.succeeded",
            promotion("prm-a", "Succeeded"),
            now=T0,  # type: ignore[arg-type]
        )
        none = notify.enqueue_event(
            s, project_with({}), "promotion.failed", promotion("prm-a", "Failed"), now=T0
        )
    assert [d.channel for d in waiting] == ["hook"]
    assert sorted(d.channel for d in done) == ["chat", "hook"]
    assert none == []
    assert [d.sequence for d in waiting + done] == [1, 2, 2]
    body = done[0].payload
    assert body["event"] == "promotion.succeeded"
    assert body["project"] == "shop"
    assert body["promotion"]["id"] == "prm-a"
    assert body["sequence"] == 2
    with pytest.raises(ValueError, match="unknown notification event"), db.session() as s:
        notify.enqueue_event(s, project, "promotion.exploded", promotion("prm-a"), now=T0)  # type: ignore[arg-type]


def test_claims_keep_order_per_promotion_and_channel(db: Database) -> None:
    with db.session() as s:
        for i in range(3):
            outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.succeeded",
                           promotion_id="prm-1", payload={"i": i}, now=T0)  # fmt: skip
        outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.succeeded",
                       promotion_id="prm-2", payload={"i": 0}, now=T0)  # fmt: skip
    with db.session() as s:
        first = outbox.claim_due(s, now=T0, lease=LEASE)
    # One head per promotion: prm-1's first event and prm-2's only one.
    assert sorted((c.promotion_id, c.sequence) for c in first) == [("prm-1", 1), ("prm-2", 1)]
    with db.session() as s:
        # Claimed rows are leased; the rest of prm-1 waits behind its head.
        assert outbox.claim_due(s, now=T0, lease=LEASE) == []
    head = next(c for c in first if c.promotion_id == "prm-1")
    other = next(c for c in first if c.promotion_id == "prm-2")
    with db.session() as s:
        assert outbox.record_success(s, other.id, other.claim, now=T0)
        assert outbox.record_failure(s, head.id, head.claim, error="HTTP 503",
                                     retry_at=T0 + timedelta(minutes=5))  # fmt: skip
    with db.session() as s:
        # Event 2 must not overtake event 1 while 1 waits for its retry.
        assert outbox.claim_due(s, now=T0 + timedelta(minutes=1), lease=LEASE) == []
        # ... and the worker sleeps until event 1's retry, not until event 2's due time.
        assert outbox.next_due_at(s) == T0 + timedelta(minutes=5)
    with db.session() as s:
        again = outbox.claim_due(s, now=T0 + timedelta(minutes=5), lease=LEASE)
    assert [(c.id, c.attempts) for c in again] == [(head.id, 2)]
    with db.session() as s:
        # A stale claim cannot record anything (fencing).
        assert not outbox.record_success(s, head.id, head.claim, now=T0)
        assert outbox.record_success(s, head.id, again[0].claim, now=T0 + timedelta(minutes=5))
    with db.session() as s:
        nxt = outbox.claim_due(s, now=T0 + timedelta(minutes=5), lease=LEASE)
    assert [(c.promotion_id, c.sequence) for c in nxt] == [("prm-1", 2)]


def test_an_expired_lease_makes_the_row_due_again(db: Database) -> None:
    with db.session() as s:
        outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.failed",
                       promotion_id="prm-1", payload={}, now=T0)  # fmt: skip
    with db.session() as s:
        (claimed,) = outbox.claim_due(s, now=T0, lease=LEASE)
    with db.session() as s:
        assert outbox.claim_due(s, now=T0 + LEASE - timedelta(seconds=1), lease=LEASE) == []
    with db.session() as s:
        (taken_over,) = outbox.claim_due(s, now=T0 + LEASE, lease=LEASE)
    assert taken_over.id == claimed.id and taken_over.claim != claimed.claim
    assert taken_over.attempts == 2


def test_failed_for_good_then_reset(db: Database) -> None:
    with db.session() as s:
        (row,) = outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.failed",
                                promotion_id="prm-1", payload={}, now=T0)  # fmt: skip
        outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.rolled_back",
                       promotion_id="prm-1", payload={}, now=T0)  # fmt: skip
    with db.session() as s:
        (claimed,) = outbox.claim_due(s, now=T0, lease=LEASE)
        assert outbox.record_failure(s, claimed.id, claimed.claim, error="HTTP 500", retry_at=None)
    with db.session() as s:
        # A failed delivery no longer holds the next one back.
        (second,) = outbox.claim_due(s, now=T0, lease=LEASE)
        assert second.sequence == 2
        with pytest.raises(outbox.DeliveryNotFailedError):
            outbox.reset_failed(s, second.id, now=T0)
        with pytest.raises(outbox.DeliveryNotFoundError):
            outbox.reset_failed(s, "dlv-nope", now=T0)
    with db.session(readonly=True) as s:
        (failed,) = outbox.list_deliveries(s, status="failed").items
    assert failed.id == row.id and failed.last_error == "HTTP 500" and failed.attempts == 1
    with db.session() as s:
        reset = outbox.reset_failed(s, row.id, now=T0 + timedelta(hours=1))
    assert (reset.status, reset.attempts) == ("pending", 0)
    with db.session() as s:
        (again,) = outbox.claim_due(s, now=T0 + timedelta(hours=1), lease=LEASE)
    assert again.id == row.id


def test_list_is_paginated_newest_first(db: Database) -> None:
    with db.session() as s:
        for i in range(5):
            at = T0 + timedelta(seconds=i)
            outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.succeeded",
                           promotion_id=f"prm-{i}", payload={}, now=at)  # fmt: skip
    seen: list[str] = []
    cursor = None
    while True:
        with db.session(readonly=True) as s:
            page = outbox.list_deliveries(s, limit=2, cursor=cursor)
        seen += [d.promotion_id for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"prm-{i}" for i in reversed(range(5))]


def test_concurrent_enqueues_number_one_promotion_without_gaps(db: Database) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                with db.session() as s:
                    outbox.enqueue(s, channels={"hook": "webhook"}, event="promotion.succeeded",
                                   promotion_id="prm-x", payload={}, now=T0)  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with db.session(readonly=True) as s:
        rows = s.execute(
            text("SELECT sequence FROM notification_deliveries WHERE promotion_id = 'prm-x'")
        ).scalars()
        assert sorted(rows) == list(range(1, 41))
