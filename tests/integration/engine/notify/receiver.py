"""A webhook receiver on 127.0.0.1 that verifies signatures the way docs/notifications.md
tells receivers to: the Python snippet of "Verifying signatures" is taken from the doc
itself and run, so the doc and the tests cannot drift apart.

It can be up (200), failing (any status, e.g. 503) or down (port closed), and records
every request it answered with 2xx, with the result of the verification.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[4] / "docs" / "notifications.md"


def documented_verifier() -> Callable[[str, dict[str, str], bytes], bool]:
    """`verify_shiplane` from the doc's Python block under "Verifying signatures"."""
    text = DOC.read_text()
    section = text.split("## Verifying signatures", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/notifications.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)
    verifier: Callable[[str, dict[str, str], bytes], bool] = namespace["verify_shiplane"]
    return verifier


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    verified: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.verify = documented_verifier()
        self.status = 200
        self.received: list[Received] = []  # answered with 2xx
        self.refused = 0  # answered with something else
        self.port = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.status
                verified = (
                    receiver.verify(receiver.secret, headers, body)
                    if receiver.secret is not None
                    else True
                )
                with receiver._lock:
                    if 200 <= status < 300:
                        receiver.received.append(Received(self.path, headers, body, verified))
                    else:
                        receiver.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no")

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port (the receiver is down); `start()` reopens the same port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json for r in self.received]
