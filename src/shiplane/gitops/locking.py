"""An asyncio-friendly exclusive file lock.

One working copy may be shared by several `GitWorkspace` objects (several workers in one
process, or several processes on one machine pointing at the same cache directory), so
an in-memory lock is not enough. `flock` locks belong to an open file description:
two objects in the same process each opening the file exclude each other too.

Waiting polls a non-blocking `flock` with growing pauses instead of blocking a thread in
`flock()`, so the wait honours its deadline and can be cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path


class LockTimeout(TimeoutError):
    """The lock was not acquired before the deadline."""


@contextlib.asynccontextmanager
async def file_lock(
    path: Path,
    *,
    timeout: float,  # noqa: ASYNC109 (a lock wait with its own error)
) -> AsyncIterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"could not lock {path} within {timeout:.0f}s") from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
