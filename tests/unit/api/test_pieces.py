"""Small pure pieces of the API: listen addresses, request ids, log redaction, streaming."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from shiplane.api.logging import drop_secrets
from shiplane.api.middleware import request_id_from
from shiplane.api.settings import parse_listen
from shiplane.api.streaming import stream_from_thread


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        (":9000", ("127.0.0.1", 9000)),
        ("9000", ("127.0.0.1", 9000)),
        ("[::1]:8080", ("::1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:http", "host:70000", "nonsense:"])
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid listen address"):
        parse_listen(text)


def test_request_id_is_taken_only_when_safe() -> None:
    def scope(value: bytes) -> dict[str, object]:
        return {"headers": [(b"x-request-id", value)]}

    assert request_id_from(scope(b"abc-123")) == "abc-123"
    generated = request_id_from(scope(b"has space"))
    assert generated != "has space" and len(generated) == 32
    assert request_id_from(scope(b"x" * 200)) != "x" * 200
    assert len(request_id_from({"headers": []})) == 32


def test_log_redaction_masks_secret_keys() -> None:
    event = {"event": "x", "Authorization": "Bearer shp_1", "token": "shp_2", "route": "/a"}
    assert drop_secrets(None, "info", event) == {
        "event": "x",
        "Authorization": "***",
        "token": "***",
        "route": "/a",
    }


async def _collect(produce: object, limit: int | None = None) -> list[bytes]:
    chunks: list[bytes] = []
    async for chunk in stream_from_thread(produce, queue_size=2):  # type: ignore[arg-type]
        chunks.append(chunk)
        if limit is not None and len(chunks) >= limit:
            break
    return chunks


def test_stream_from_thread_keeps_order_and_one_thread() -> None:
    threads: set[int] = set()

    def produce() -> Iterator[bytes]:
        for n in range(20):
            threads.add(threading.get_ident())
            yield str(n).encode()

    assert asyncio.run(_collect(produce)) == [str(n).encode() for n in range(20)]
    assert len(threads) == 1


def test_stream_from_thread_reraises_producer_errors() -> None:
    def produce() -> Iterator[bytes]:
        yield b"first"
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        asyncio.run(_collect(produce))


def test_stream_from_thread_stops_the_producer_when_the_reader_leaves() -> None:
    finished = threading.Event()

    def produce() -> Iterator[bytes]:
        try:
            n = 0
            while True:
                n += 1
                yield str(n).encode()
        finally:
            finished.set()

    assert len(asyncio.run(_collect(produce, limit=3))) == 3
    assert finished.wait(timeout=10), "the producer thread ended"


def test_public_url_for_notification_links() -> None:
    from shiplane.api.settings import check_public_url

    assert check_public_url("https://shiplane.example/") == "https://shiplane.example"
    assert check_public_url("http://127.0.0.1:8080/ship") == "http://127.0.0.1:8080/ship"
    for bad in ("shiplane.example", "ftp://x", "https:///path", "https://a b", "https://a?x=1"):
        with pytest.raises(ValueError, match="public URL"):
            check_public_url(bad)
