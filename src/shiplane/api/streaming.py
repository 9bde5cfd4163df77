"""Stream lines produced by blocking code (a DB cursor) without holding them in memory.

A database session must stay on one thread, but Starlette would iterate a sync generator
on arbitrary threadpool threads. So one worker thread owns the session and feeds a
bounded queue; the response reads from it. A client that goes away sets `stop`, and
the worker notices at its next put and ends, so no thread is left blocked.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterable

from anyio import to_thread

from shiplane.api.logging import get_logger

_DONE = object()
_PUT_TIMEOUT_S = 1.0
_log = get_logger("shiplane.api.streaming")


class _Stopped(Exception):
    pass


async def stream_from_thread(
    produce: Callable[[], Iterable[bytes]], *, queue_size: int = 256
) -> AsyncIterator[bytes]:
    """Run `produce()` on its own thread and yield its chunks in order."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=queue_size)
    stop = threading.Event()

    def put(item: object) -> None:
        while True:
            if stop.is_set():
                raise _Stopped
            try:
                chunks.put(item, timeout=_PUT_TIMEOUT_S)
                return
            except queue.Full:
                continue

    def work() -> None:
        try:
            for chunk in produce():
                put(chunk)
        except _Stopped:
            return
        except Exception as exc:
            _log.exception("stream producer failed")
            try:
                put(exc)
            except _Stopped:
                return
            return
        try:
            put(_DONE)
        except _Stopped:
            return

    worker = threading.Thread(target=work, name="shiplane-stream", daemon=True)
    worker.start()
    try:
        while True:
            item = await to_thread.run_sync(chunks.get)
            if item is _DONE:
                return
            if isinstance(item, Exception):
                # Headers are already sent; ending the body early is all that is left.
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
