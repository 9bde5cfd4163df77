"""Fixtures of the check tests: a small HTTP server on 127.0.0.1 with scripted answers.
(A real Prometheus and the async cluster client come from tests/support.)"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class ScriptedServer:
    """Answers by path:
    /ok                 200 {"status": "ok", "version": "1.4.2"}
    /status/<code>      that status, a text body
    /flaky/<key>/<n>    503 for the first n requests of <key>, then 200 {"ok": true}
    /slow               answers after `release` is set (at most 30 s)
    /echo               200 with the method, headers and body it received as JSON
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.release = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: Any, content_type: str) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                # The client may have given up already (the timeout test).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("X-Served-By", "shiplane-test")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)

            def _handle(self) -> None:
                parts = self.path.strip("/").split("/")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if parts[0] == "ok":
                    self._answer(200, {"status": "ok", "version": "1.4.2"}, "application/json")
                elif parts[0] == "status":
                    self._answer(int(parts[1]), f"status {parts[1]}".encode(), "text/plain")
                elif parts[0] == "flaky":
                    key, failures = parts[1], int(parts[2])
                    with server.lock:
                        server.counts[key] = server.counts.get(key, 0) + 1
                        seen = server.counts[key]
                    if seen <= failures:
                        self._answer(503, b"not yet", "text/plain")
                    else:
                        self._answer(200, {"ok": True, "seen": seen}, "application/json")
                elif parts[0] == "slow":
                    server.release.wait(30)
                    self._answer(200, b"late", "text/plain")
                elif parts[0] == "echo":
                    echo = {
                        "method": self.command,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                    self._answer(200, echo, "application/json")
                else:
                    self._answer(404, b"no such path", "text/plain")

            do_GET = do_POST = do_PUT = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def http_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()
