"""One asyncio lock per key (an (environment, app) pair, say), made on first use.

Within one process, work on the same key must not interleave (two deploys of one app
racing on its pin, two status writes landing out of order), while different keys run in
parallel. Across processes and replicas, leases (`engine/leases.py`) do that job, and
across checkouts of one machine, file locks (`gitops/locking.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """`async with locks.hold(key): ...` serialises the holders of one key."""

    def __init__(self) -> None:
        self._locks: dict[K, asyncio.Lock] = {}

    def lock(self, key: K) -> asyncio.Lock:
        """The lock of `key` (the same object for every call with that key)."""
        return self._locks.setdefault(key, asyncio.Lock())

    def locked(self, key: K) -> bool:
        lock = self._locks.get(key)
        return lock is not None and lock.locked()

    @contextlib.asynccontextmanager
    async def hold(self, *keys: K) -> AsyncIterator[None]:
        """Hold the locks of every key in `keys` (duplicates once), taken in one fixed
        order, so two holders of overlapping keys wait for each other instead of
        deadlocking."""
        async with contextlib.AsyncExitStack() as stack:
            for key in sorted(set(keys), key=repr):
                await stack.enter_async_context(self.lock(key))
            yield
