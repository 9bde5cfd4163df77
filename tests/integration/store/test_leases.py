"""Leases on SQLite and PostgreSQL: claims, fencing epochs, renewals, hand-back, expiry,
all-or-nothing named leases, and orphaned deploy runs. On PostgreSQL, concurrent claims
from several threads never hand one promotion to two owners."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shiplane.domain.promotion import Promotion
from shiplane.store import deploys, leases, promotion_leases, releases
from shiplane.store import promotions as pstore
from shiplane.store.db import Database
from shiplane.store.lease_fencing import LeaseLostError
from shiplane.store.models import LeaseRow, PromotionRow

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _promotions(db: Database, count: int) -> list[str]:
    with db.session() as s:
        release, _ = releases.create_release(
            s, artifacts={"web": "registry.example/web:1"}, alias=None, labels={}, creator="ci"
        )
        ids = []
        for i in range(count):
            p = Promotion(
                id=f"prm-{i:04d}",
                release_id=release.id,
                environment="dev",
                apps=("web",),
                requested_by="ci",
                created_at=NOW + timedelta(seconds=i),
            )
            pstore.insert_promotion(s, p, next_check_at=None)
            ids.append(p.id)
    return ids


def _claim(
    db: Database, owner: str, ttl: float = 30, **kw: object
) -> list[promotion_leases.PromotionClaim]:
    with db.session() as s:
        return promotion_leases.claim_due_promotions(s, owner, due_at=NOW, ttl=ttl, **kw)  # type: ignore[arg-type]


def test_a_claimed_promotion_is_not_claimed_again_until_handed_back(db: Database) -> None:
    ids = _promotions(db, 3)
    first = _claim(db, "a", limit=2)
    assert [c.promotion_id for c in first] == ids[:2]
    assert {c.epoch for c in first} == {1}
    second = _claim(db, "b")
    assert [c.promotion_id for c in second] == ids[2:]
    assert _claim(db, "c") == []
    with db.session() as s:
        assert promotion_leases.release_promotion(s, ids[0], "a", 1)
        assert not promotion_leases.release_promotion(s, ids[1], "a", 7)  # not that claim: no-op
    again = _claim(db, "c")
    assert [(c.promotion_id, c.epoch, c.previous_owner) for c in again] == [(ids[0], 2, None)]


def test_finished_and_not_due_promotions_are_not_claimed(db: Database) -> None:
    (done,) = _promotions(db, 1)
    with db.session() as s:
        s.execute(update(PromotionRow).values(state="Succeeded"))
    assert _claim(db, "a") == []
    with db.session() as s:
        s.execute(
            update(PromotionRow)
            .where(PromotionRow.id == done)
            .values(state="Waiting", next_check_at=NOW + timedelta(minutes=5))
        )
    assert _claim(db, "a") == []


def test_an_expired_lease_is_taken_over_and_fences_out_the_old_owner(db: Database) -> None:
    (pid,) = _promotions(db, 1)
    (old,) = _claim(db, "a", ttl=1)
    with db.session() as s:
        promotion_leases.check_promotion_fence(s, pid, "a", old.epoch)  # still ours
    with db.session() as s:  # let it expire without waiting: move the expiry back
        s.execute(
            update(PromotionRow).values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )
    (new,) = _claim(db, "b")
    assert (new.epoch, new.previous_owner) == (old.epoch + 1, "a")
    with pytest.raises(LeaseLostError, match="held by b"), db.session() as s:
        promotion_leases.check_promotion_fence(s, pid, "a", old.epoch)
    with db.session() as s:
        renewed, lost = promotion_leases.renew_promotions(s, "a", {pid: old.epoch}, 30)
        assert (renewed, lost) == (set(), {pid})
        renewed, lost = promotion_leases.renew_promotions(s, "b", {pid: new.epoch}, 30)
        assert (renewed, lost) == ({pid}, set())


def test_our_own_lease_is_reclaimed_when_we_do_not_work_on_it(db: Database) -> None:
    (pid,) = _promotions(db, 1)
    (first,) = _claim(db, "a")
    assert _claim(db, "a", exclude={pid}) == []  # in flight: left alone
    (again,) = _claim(db, "a")  # e.g. restarted with the same --replica-id
    assert again.epoch == first.epoch + 1


def test_named_leases_all_or_nothing_and_expire_others(db: Database) -> None:
    with db.session() as s:
        assert leases.acquire(s, "deploy/dev/web", "a", 30) == 1
        assert leases.acquire(s, "deploy/dev/web", "a", 30) == 1  # ours: renewed
        assert leases.acquire(s, "deploy/dev/web", "b", 30) is None
    with db.session() as s:
        assert leases.acquire_many(s, ["deploy/dev/web", "deploy/dev/api"], "b", 30) == {}
    with db.session() as s:  # nothing was taken by the failed attempt
        assert [lease.name for lease in leases.list_leases(s)] == ["deploy/dev/web"]
        assert leases.acquire_many(s, ["deploy/dev/web", "deploy/dev/api"], "a", 30) == {
            "deploy/dev/api": 1,
            "deploy/dev/web": 1,
        }
        leases.check_lease(s, "deploy/dev/api", "a", 1)
    with db.session() as s:
        assert leases.expire_others(s, "b") == 2
    with db.session() as s:
        assert leases.acquire(s, "deploy/dev/web", "b", 30) == 2
        with pytest.raises(LeaseLostError):
            leases.check_lease(s, "deploy/dev/web", "a", 1)
        assert leases.release_owner(s, "b") == 1
        assert leases.list_leases(s) == []


def test_runs_of_dead_replicas_are_interrupted_not_those_of_live_ones(db: Database) -> None:
    with db.session() as s:
        for replica in ("alive", "dead"):
            deploys.start_run(
                s,
                group_id=f"g-{replica}",
                environment="dev",
                app=replica,
                kind="deploy",
                release_id=None,
                actor="shiplane",
                replica=replica,
            )
        leases.acquire(s, leases.REPLICA_PREFIX + "alive", "alive", 30)
        leases.acquire(s, leases.REPLICA_PREFIX + "dead", "dead", 30)
        s.execute(
            update(LeaseRow)
            .where(LeaseRow.name == leases.REPLICA_PREFIX + "dead")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with db.session() as s:
        live = leases.live_replicas(s)
        assert live == {"alive"}
        assert leases.interrupt_orphaned_runs(s, live=live, reason="gone") == 1
    with db.session() as s:
        statuses = {r.app: (r.status, r.replica) for r in deploys.list_runs(s).items}
    assert statuses == {"alive": ("running", "alive"), "dead": ("interrupted", "dead")}


@pytest.mark.postgres
def test_concurrent_claims_never_share_a_promotion(fresh_database_url: str) -> None:
    db = Database.from_url(fresh_database_url, pool_size=8)
    db.migrate()
    try:
        ids = _promotions(db, 40)
        claimed: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(4)

        def replica(owner: str) -> None:
            mine: set[str] = set()  # in flight: a replica never claims those again
            start.wait()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got = _claim(db, owner, limit=3, exclude=mine)
                if not got:
                    return
                mine.update(c.promotion_id for c in got)
                with lock:
                    claimed.extend(c.promotion_id for c in got)

        threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        counts = Counter(claimed)
        assert sorted(counts) == ids
        assert set(counts.values()) == {1}
    finally:
        db.close()
