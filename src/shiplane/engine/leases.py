"""The replica's side of leases: who this process is, what it holds, the heartbeat that
keeps it, and the fences its writes and side effects check (docs/durability.md).

A lease is valid for this process until `ttl` after the start of its last successful
renewal, minus a safety margin, measured on the monotonic clock. A process that was
paused (SIGSTOP, a long GC, a frozen VM) therefore knows on resuming that its leases
may have been taken, and stops before its next side effect instead of pushing or
applying on behalf of a promotion another replica now owns. Database writes are fenced
independently by the lease epoch, checked in the writing transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy.orm import Session

from shiplane.store import leases as store
from shiplane.store import promotion_leases
from shiplane.store.db import Database
from shiplane.store.lease_fencing import LeaseLostError
from shiplane.store.promotion_leases import PromotionClaim

log = structlog.get_logger(__name__)
T = TypeVar("T")

DEFAULT_TTL = 15.0
SAFETY = 0.25  # of the TTL: stop trusting a lease this long before the database expires it
WAIT_POLL = (0.05, 1.0)  # first and longest pause between tries for a busy named lease


def new_replica_id() -> str:
    """Host, PID and a random suffix: unique even when a PID is reused after a crash."""
    host = socket.gethostname().split(".")[0][:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class Fence(Protocol):
    """What a writer checks: in its transaction (`check`) and before a side effect in
    the world outside the database (`assert_held`: a git push, an apply)."""

    def check(self, s: Session) -> None: ...

    def assert_held(self) -> None: ...


@dataclass
class HeldLease:
    """One lease this process holds: named (`watch/c1`) or a promotion's."""

    key: str
    epoch: int
    renewed_at: float  # monotonic time at the start of the last successful renewal
    promotion: bool = False
    lost: bool = False
    on_lost: list[Callable[[], None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.key.removeprefix("promotion/")


class _LeaseFence:
    def __init__(self, keeper: LeaseKeeper, lease: HeldLease) -> None:
        self.keeper, self.lease = keeper, lease

    def check(self, s: Session) -> None:
        owner, lease = self.keeper.replica_id, self.lease
        if lease.promotion:
            promotion_leases.check_promotion_fence(s, lease.name, owner, lease.epoch)
        else:
            store.check_lease(s, lease.name, owner, lease.epoch)

    def assert_held(self) -> None:
        self.keeper.assert_valid(self.lease)


class Fences:
    """Several fences checked together (a promotion's deploy: its promotion lease and
    the environment's deploy lease)."""

    def __init__(self, fences: Iterable[Fence | None]) -> None:
        self.fences = [f for f in fences if f is not None]

    def check(self, s: Session) -> None:
        for fence in self.fences:
            fence.check(s)

    def assert_held(self) -> None:
        for fence in self.fences:
            fence.assert_held()


class LeaseKeeper:
    def __init__(
        self,
        db: Database,
        *,
        replica_id: str | None = None,
        ttl: float = DEFAULT_TTL,
        single_process: bool = False,
    ) -> None:
        if ttl < 1.0:
            raise ValueError(f"lease TTL must be at least 1 second, not {ttl}")
        self.db = db
        self.replica_id = replica_id or new_replica_id()
        self.ttl = ttl
        self.single_process = single_process
        self.held: dict[str, HeldLease] = {}
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], Any]] = []
        self.on_beat: list[Callable[[], Any]] = []  # run after every heartbeat

    @property
    def replica_lease(self) -> str:
        return store.REPLICA_PREFIX + self.replica_id

    @property
    def interval(self) -> float:
        return self.ttl / 3

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        def register(s: Session) -> int | None:
            if self.single_process:
                # SQLite: the server's file lock proves no other process is alive.
                store.expire_others(s, self.replica_id)
            return store.acquire(s, self.replica_lease, self.replica_id, self.ttl)

        started = time.monotonic()
        epoch = await self._write(register)
        assert epoch is not None  # a fresh random name is never held by anyone else
        self.held[self.replica_lease] = HeldLease(self.replica_lease, epoch, started)
        self._task = asyncio.create_task(self._heartbeat(), name="lease heartbeat")
        log.info("leases.started", replica=self.replica_id, ttl=self.ttl)

    async def ensure_started(self) -> None:
        """Start once; restart the heartbeat when its event loop ended (tests that run
        one asyncio.run per scenario)."""
        if self.replica_lease not in self.held:
            await self.start()
        elif self._task is None or self._task.done():
            self._task = asyncio.create_task(self._heartbeat(), name="lease heartbeat")

    async def stop(self) -> None:
        """Hand every lease back, so other replicas take over at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            released = await self._write(lambda s: store.release_owner(s, self.replica_id))
            log.info("leases.released", replica=self.replica_id, count=released)
        except Exception:  # the database is gone: the leases expire by themselves
            log.warning("leases.release_failed", replica=self.replica_id, exc_info=True)
        self.held.clear()

    async def _write(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.db.transact, fn)

    # --- validity -------------------------------------------------------------------------

    def valid(self, lease: HeldLease) -> bool:
        return not lease.lost and time.monotonic() < lease.renewed_at + self.ttl * (1 - SAFETY)

    def assert_valid(self, lease: HeldLease) -> None:
        if not self.valid(lease):
            self._lose(lease, "not renewed in time")
            raise LeaseLostError(lease.key, self.replica_id, lease.epoch, None, -1)

    def fence(self, lease: HeldLease) -> Fence:
        return _LeaseFence(self, lease)

    def _lose(self, lease: HeldLease, why: str) -> None:
        if lease.lost:
            return
        lease.lost = True
        self.held.pop(lease.key, None)
        log.warning("leases.lost", lease=lease.key, epoch=lease.epoch, why=why)
        for callback in lease.on_lost:
            callback()

    # --- promotions -----------------------------------------------------------------------

    def track_claims(self, claims: Iterable[PromotionClaim], claimed_at: float) -> list[HeldLease]:
        held = []
        for claim in claims:
            lease = HeldLease(f"promotion/{claim.promotion_id}", claim.epoch, claimed_at, True)
            self.held[lease.key] = lease
            held.append(lease)
        return held

    async def release_promotion(self, lease: HeldLease) -> None:
        self.held.pop(lease.key, None)
        if lease.lost:
            return
        await self._write(
            lambda s: promotion_leases.release_promotion(
                s, lease.name, self.replica_id, lease.epoch
            )
        )

    # --- named leases ---------------------------------------------------------------------

    async def try_acquire(self, name: str) -> HeldLease | None:
        existing = self.held.get(name)
        if existing is not None and self.valid(existing):
            return existing
        started = time.monotonic()
        epoch = await self._write(lambda s: store.acquire(s, name, self.replica_id, self.ttl))
        if epoch is None:
            return None
        lease = HeldLease(name, epoch, started)
        self.held[name] = lease
        return lease

    async def try_acquire_all(self, names: list[str]) -> list[HeldLease] | None:
        """All of `names` or none (one transaction), in name order."""
        started = time.monotonic()
        epochs = await self._write(
            lambda s: store.acquire_many(s, names, self.replica_id, self.ttl)
        )
        if not epochs:
            return None
        held = []
        for name in sorted(epochs):
            lease = HeldLease(name, epochs[name], started)
            self.held[name] = lease
            held.append(lease)
        return held

    @contextlib.asynccontextmanager
    async def hold_all(
        self, names: list[str], *, waiting: Callable[[float], None] | None = None
    ) -> AsyncIterator[list[HeldLease]]:
        """Hold every named lease for the body, waiting (with backoff) while another
        replica holds any of them; never holds some while waiting for the others."""
        if not names:
            yield []
            return
        pause, started = WAIT_POLL[0], time.monotonic()
        while True:
            leases = await self.try_acquire_all(names)
            if leases is not None:
                break
            if waiting is not None:
                waiting(time.monotonic() - started)
            await asyncio.sleep(pause)
            pause = min(pause * 2, WAIT_POLL[1])
        try:
            yield leases
        finally:
            with contextlib.suppress(Exception):
                await self.release_all(leases)

    async def release_all(self, leases: list[HeldLease]) -> None:
        for lease in leases:
            self.held.pop(lease.key, None)
        mine = [(lease.name, lease.epoch) for lease in leases if not lease.lost]
        if not mine:
            return

        def release(s: Session) -> None:
            for name, epoch in mine:
                store.release(s, name, self.replica_id, epoch)

        await self._write(release)

    # --- heartbeat ------------------------------------------------------------------------

    async def beat(self) -> None:
        """Renew everything held; leases that could not be renewed are lost."""
        started = time.monotonic()
        named = {k: v.epoch for k, v in self.held.items() if not v.promotion}
        promos = {v.name: v.epoch for v in self.held.values() if v.promotion}

        def renew(s: Session) -> tuple[set[str], set[str], set[str], set[str]]:
            kept_named, lost_named = store.renew(s, self.replica_id, named, self.ttl)
            kept, lost = promotion_leases.renew_promotions(s, self.replica_id, promos, self.ttl)
            return kept_named, lost_named, kept, lost

        kept_named, lost_named, kept_promos, lost_promos = await self._write(renew)
        for lease in list(self.held.values()):
            kept, lost = (kept_promos, lost_promos) if lease.promotion else (kept_named, lost_named)
            if (promos if lease.promotion else named).get(lease.name) != lease.epoch:
                continue  # claimed again (a new epoch) while this renewal ran: fresh already
            if lease.name in kept:
                lease.renewed_at = started
            elif lease.name in lost:
                self._lose(lease, "taken over by another replica")
            # else: acquired during the renewal, or its row was busy: try next beat
        if self.replica_lease not in self.held:
            # This process was paused past its TTL and others may have recovered its
            # work. Come back as the same replica with a new epoch.
            epoch = await self._write(
                lambda s: store.acquire(s, self.replica_lease, self.replica_id, self.ttl)
            )
            if epoch is not None:
                self.held[self.replica_lease] = HeldLease(self.replica_lease, epoch, started)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is unreachable: leases lapse on their own
                log.warning("leases.heartbeat_failed", exc_info=True)
                for lease in list(self.held.values()):
                    if not self.valid(lease):
                        self._lose(lease, "heartbeat failed")
            for callback in list(self.on_beat):
                try:
                    result = callback()
                    if asyncio.iscoroutine(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("leases.on_beat_failed")

    def holding(self) -> dict[str, Any]:
        return {
            "replica": self.replica_id,
            "ttl_seconds": self.ttl,
            "leases": sorted(k for k, v in self.held.items() if self.valid(v)),
        }


__all__ = ["DEFAULT_TTL", "Fence", "Fences", "HeldLease", "LeaseKeeper", "LeaseLostError"]
