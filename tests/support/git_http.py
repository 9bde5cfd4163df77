"""A smart-HTTP git server for tests: `git http-backend` as CGI, over the bare
repositories below one folder, with HTTP Basic auth or none.

Bound to 127.0.0.1 on a free port, in a thread of the test process. Every request is
recorded (method, path, authenticated user, status) so tests can check that a client
really authenticated, and what it sent.

    server = GitHttpServer(root)                      # anonymous: anyone reads and pushes
    server = GitHttpServer(root, {"alice": "secret"}) # Basic auth: 401 without it
    server.start(); server.url("gitops.git")          # http://127.0.0.1:PORT/gitops.git
    server.repo_url(root / "team" / "gitops.git")     # the same for a bare repo's path
    server.stop()

The `git_http` fixture (session-scoped) is an anonymous server whose root is a fresh
temporary folder: put bare repositories there (`tests.support.gitops_repo.build_repo(
git_http.root / NAME, ...)`), and clients such as Flux's source-controller clone them
over HTTP from `git_http.repo_url(bare)`.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest


@dataclass
class RequestRecord:
    method: str
    path: str
    user: str | None
    status: int


ANONYMOUS = "anonymous"


@dataclass
class GitHttpServer:
    root: Path
    # user -> password for HTTP Basic auth; None serves everyone, reads and pushes alike.
    users: dict[str, str] | None = None
    requests: list[RequestRecord] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}"

    def repo_url(self, bare: Path) -> str:
        """The URL of a bare repository below `root`."""
        return self.url(bare.resolve().relative_to(self.root.resolve()).as_posix())

    def start(self) -> None:
        server = self

        class Handler(_GitHandler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


class _GitHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: GitHttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are recorded in owner.requests instead of printed

    def _user(self) -> str | None:
        users = self.owner.users
        if users is None:
            return ANONYMOUS
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if users.get(user) == password else None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        user = self._user()
        body = self._body()
        if user is None:
            self.owner.requests.append(RequestRecord(self.command, path, None, 401))
            self._reply(401, [("WWW-Authenticate", 'Basic realm="git"')], b"")
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user,  # lets http-backend accept pushes (anonymous ones too)
            "REMOTE_ADDR": self.client_address[0],
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = out.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key.strip(), value.strip()))
        self.owner.requests.append(RequestRecord(self.command, path, user, status))
        self._reply(status, headers, payload)


@pytest.fixture(scope="session")
def git_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """An anonymous smart-HTTP git server on 127.0.0.1 over a fresh folder, for the
    session; stopped at its end."""
    server = GitHttpServer(tmp_path_factory.mktemp("git-http"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
