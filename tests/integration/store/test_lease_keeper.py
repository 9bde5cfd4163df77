"""The replica's lease keeper on both backends: a lease taken over is lost at the next
heartbeat (its callback runs), a lease not renewed in time is not trusted for side
effects, and stop() hands everything back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shiplane.engine.leases import LeaseKeeper
from shiplane.store import leases
from shiplane.store.db import Database
from shiplane.store.lease_fencing import LeaseLostError
from shiplane.store.models import LeaseRow


def test_a_lease_taken_over_is_lost_at_the_next_beat(db: Database) -> None:
    async def scenario() -> None:
        keeper = LeaseKeeper(db, replica_id="a", ttl=30)
        await keeper.start()
        try:
            lost: list[str] = []
            (watch,) = await keeper.try_acquire_all(["watch/c1"]) or []
            watch.on_lost.append(lambda: lost.append("watch/c1"))
            await keeper.beat()
            assert keeper.valid(watch) and lost == []
            with db.session() as s:  # another replica takes it after it expired
                s.execute(
                    update(LeaseRow)
                    .where(LeaseRow.name == "watch/c1")
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
                assert leases.acquire(s, "watch/c1", "b", 30) == watch.epoch + 1
            await keeper.beat()
            assert lost == ["watch/c1"] and not keeper.valid(watch)
            with pytest.raises(LeaseLostError), db.session() as s:
                keeper.fence(watch).check(s)
        finally:
            await keeper.stop()
        with db.session() as s:  # handed back: only b's lease is left
            assert [(x.name, x.owner) for x in leases.list_leases(s)] == [("watch/c1", "b")]

    asyncio.run(scenario())


def test_a_lease_not_renewed_in_time_is_not_trusted(db: Database) -> None:
    async def scenario() -> None:
        keeper = LeaseKeeper(db, replica_id="a", ttl=4)
        await keeper.start()
        try:
            (deploy,) = await keeper.try_acquire_all(["deploy/dev/web"]) or []
            keeper.fence(deploy).assert_held()
            deploy.renewed_at -= 3.5  # as after a pause: 75% of the TTL has passed
            with pytest.raises(LeaseLostError):
                keeper.fence(deploy).assert_held()
            assert deploy.lost
        finally:
            await keeper.stop()

    asyncio.run(scenario())
