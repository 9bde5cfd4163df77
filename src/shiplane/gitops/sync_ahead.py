"""A sync started ahead of a deploy (`GitWorkspace.sync_ahead`): the fetch runs beside
the deploy's queue and gate steps, and the deploy's `sync(ahead_within=...)` takes its
result when it is fresh enough, instead of fetching again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


def _note_failure(task: asyncio.Task[str]) -> None:
    # Retrieved here so that asyncio does not warn; the sync that would have used it
    # fetches again and reports its own failure.
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.info("git.sync_ahead_failed", error=str(exc))


class SyncAhead:
    """At most one sync ahead: when it started, and its task."""

    def __init__(self) -> None:
        self._ahead: tuple[float, asyncio.Task[str]] | None = None

    def start(self, sync: Callable[[], Coroutine[Any, Any, str]]) -> None:
        """Run `sync` now unless one is still running; returns at once."""
        if self._ahead is not None and not self._ahead[1].done():
            return
        task = asyncio.get_running_loop().create_task(sync(), name="git sync ahead")
        task.add_done_callback(_note_failure)
        self._ahead = (time.monotonic(), task)

    def drop(self) -> None:
        """Forget it: a push from here follows, which it would not see."""
        self._ahead = None

    def take(self, within: float) -> asyncio.Task[str] | None:
        """The sync started at most `within` seconds ago on this loop (forgotten now)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or within <= 0:
            return None
        started, task = ahead
        fresh = time.monotonic() - started <= within
        if not fresh or task.get_loop() is not asyncio.get_running_loop():
            return None
        return task
