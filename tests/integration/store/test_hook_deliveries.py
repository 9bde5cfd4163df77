"""Remembered webhook deliveries, on SQLite and PostgreSQL: a replay is refused on any
replica (the table is shared), and two replicas racing on one delivery accept it once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from shiplane.store.db import Database
from shiplane.store.hook_deliveries import delivery_key, remember
from shiplane.store.models import HookDelivery

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def test_a_delivery_is_remembered_for_its_window_only(db: Database) -> None:
    keys = [delivery_key("id", "d-1"), delivery_key("content", "abc")]
    with db.session() as s:
        assert remember(s, "gh", keys, now=T0, window=WINDOW)
    with db.session() as s:
        assert not remember(s, "gh", [keys[1]], now=T0 + timedelta(minutes=1), window=WINDOW)
        assert remember(s, "other", keys, now=T0, window=WINDOW)  # per receiver
    with db.session() as s:
        assert remember(s, "gh", keys, now=T0 + WINDOW, window=WINDOW)
        # Expired rows (of every receiver) went on the way: only the new pair is left.
        assert s.scalar(select(func.count()).select_from(HookDelivery)) == 2


def test_two_replicas_racing_on_one_delivery_accept_it_once(db_url: str) -> None:
    first, second = Database.from_url(db_url), Database.from_url(db_url)
    first.migrate()
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def receive(database: Database) -> None:
        barrier.wait(timeout=30)
        try:
            with database.session() as s:
                results.append(
                    remember(s, "registry", [delivery_key("id", "e-1")], now=T0, window=WINDOW)
                )
        except Exception:  # SQLite's writer lock: the loser may fail outright instead
            results.append(False)

    threads = [threading.Thread(target=receive, args=(d,)) for d in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    first.close()
    second.close()
    assert sorted(results) == [False, True]
