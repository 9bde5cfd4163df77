"""Real git remotes for the gitops tests: bare repositories reached by a plain path,
`file://`, `git://` (a `git daemon` on 127.0.0.1) and smart HTTP with Basic auth."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.git_http import GitHttpServer
from tests.support.wait import wait_for

GIT = "/usr/bin/git"
HTTP_USER = "shiplane-bot"
HTTP_PASSWORD = "pa55-Wörd/with:odd@chars"

CLEAN_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/tmp"),
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LANG": "C",
    "GIT_AUTHOR_NAME": "Test Person",
    "GIT_AUTHOR_EMAIL": "test@localhost",
    "GIT_COMMITTER_NAME": "Test Person",
    "GIT_COMMITTER_EMAIL": "test@localhost",
}

BASE_FILES = {
    "shiplane.yaml": "apiVersion: shiplane/v1alpha1\nproject: shop\n",
    "apps/web/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
}


def git(*args: str, cwd: Path, stdin: str | None = None) -> str:
    """Run git for a test (not through Shiplane) and return stdout; fail loudly."""
    result = subprocess.run(
        [GIT, *args], cwd=cwd, env=CLEAN_ENV, input=stdin, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def git_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory holding every bare repository; served by the daemon and HTTP server."""
    return tmp_path_factory.mktemp("remotes")


BareRepoFactory = Callable[..., Path]


@pytest.fixture
def bare_repo(git_root: Path, request: pytest.FixtureRequest) -> BareRepoFactory:
    """Make a bare repository with one commit of `files` on main; returns its path."""
    counter = iter(range(1000))

    def make(files: Mapping[str, str] | None = None) -> Path:
        name = f"{request.node.name}-{next(counter)}".replace("[", "-").replace("]", "")
        bare = git_root / f"{name}.git"
        seed = git_root / f"{name}.seed"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=git_root)
        git("init", "--quiet", "--initial-branch=main", str(seed), cwd=git_root)
        for rel, text in (files or BASE_FILES).items():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            (seed / rel).write_text(text)
        git("add", "--all", cwd=seed)
        git("commit", "--quiet", "-m", "initial layout", cwd=seed)
        git("push", "--quiet", str(bare), "main", cwd=seed)
        return bare

    return make


@pytest.fixture(scope="session")
def git_daemon(git_root: Path) -> Iterator[int]:
    """`git daemon` serving git_root on 127.0.0.1 (pushes enabled); yields its port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            GIT, "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
            "--informative-errors", f"--base-path={git_root}", f"--port={port}",
            "--listen=127.0.0.1", str(git_root),
        ],
        env=CLEAN_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: proc.poll() is not None or port_open(port), timeout=15, what="git daemon")
        assert proc.poll() is None, "git daemon exited at start"
        yield port
    finally:
        # The daemon forks a child per connection into its own process group.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def http_server(git_root: Path) -> Iterator[GitHttpServer]:
    server = GitHttpServer(git_root, {HTTP_USER: HTTP_PASSWORD})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def remote_url(transport: str, bare: Path, *, git_port: int = 0, http_port: int = 0) -> str:
    if transport == "path":
        return str(bare)
    if transport == "file":
        return f"file://{bare}"
    if transport == "git":
        return f"git://127.0.0.1:{git_port}/{bare.name}"
    if transport == "http":
        return f"http://127.0.0.1:{http_port}/{bare.name}"
    raise ValueError(transport)


def trailer_count(bare: Path, key: str, value: str) -> int:
    """How many commits on main carry `key: value` as a trailer."""
    out = git(
        "log", "main", f"--format=%H %(trailers:key={key},valueonly,separator=%x2C)", cwd=bare
    )
    return sum(1 for line in out.splitlines() if value in line.partition(" ")[2].strip().split(","))
