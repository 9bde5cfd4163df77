"""Forge tests: a real Gitea (tests/support/gitea.py) and real `git` over HTTP."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from tests.support.clusters import make_namespace
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi

# git as a user runs it, but blind to this machine's configuration and never prompting.
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/tmp"),
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LANG": "C",
}


def git(cwd: Path, *args: str, author: str = "Test Person") -> str:
    env = {
        **GIT_ENV,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": "test@example.test",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": "test@example.test",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args[:2])} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture
def namespace(kube: Client) -> Iterator[str]:
    """The prod namespace of the pull-request mode tests (a test module may override it)."""
    made = make_namespace(kube, "prod")
    yield made
    kube.delete(Namespace, made)


@pytest.fixture
def forge(gitea: GiteaServer) -> GiteaApi:
    """Set-up helpers of the session's Gitea."""
    return gitea.api()


@dataclass
class Receiver:
    """A small HTTP server on 127.0.0.1 that keeps every delivery it is sent."""

    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            found.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/gitea"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
