"""Waiting for a condition with a deadline, backing off between looks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll(
    check: Callable[[], Awaitable[T | None]],
    *,
    seconds: float,
    interval: float = 0.05,
    max_interval: float = 1.0,
) -> T | None:
    """Call `check` until it returns a value (returned) or the deadline passes (None)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value is not None:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 2, max_interval)
