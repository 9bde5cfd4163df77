"""A real `shiplane serve` process for tests: started on a free 127.0.0.1 port, awaited
through /readyz with a deadline, stopped by PID. Its stdout and stderr go to files so
tests can inspect the logs (for example, that no token ever appears in them)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from shiplane.store.db import normalize_url
from tests.support.wait import wait_for

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
# Makes an empty database for a work directory: SQLite file or PostgreSQL database.
DatabaseFactory = Callable[[Path], AbstractContextManager[str]]
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def new_admin_token() -> str:
    return "shp_test_" + secrets.token_urlsafe(24)


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    admin_token: str
    database_url: str
    stdout_path: Path
    stderr_path: Path
    extra_secrets: list[str] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    def logs(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(
            errors="replace"
        )

    def stop(self) -> int:
        """SIGTERM by PID, wait for a graceful exit, SIGKILL only after a deadline."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        return self.process.returncode


def start_server(
    workdir: Path,
    database_url: str,
    *,
    config: Path | None = None,
    admin_token: str | None = None,
    extra_args: Sequence[str] = (),
    ready: bool = True,
) -> ServerProcess:
    """Start `shiplane serve`; wait for /readyz (or only /healthz when `ready` is False,
    for servers that are expected not to become ready)."""
    workdir.mkdir(parents=True, exist_ok=True)
    token = admin_token or new_admin_token()
    env = {**os.environ, "SHIPLANE_BOOTSTRAP_TOKEN": token, "SHIPLANE_HOME": str(workdir)}
    env.pop("SHIPLANE_DATABASE_URL", None)
    argv = [SHIPLANE, "serve", "--listen", "127.0.0.1:0", "--db", database_url]
    argv += ["--data-dir", str(workdir / "data")]
    if config is not None:
        argv += ["--config", str(config)]
    argv += list(extra_args)
    stdout_path, stderr_path = workdir / "server.stdout", workdir / "server.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
    server = ServerProcess(process, "", token, database_url, stdout_path, stderr_path)

    def listening() -> str | None:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{server.logs()}")
        match = _LISTENING.search(stdout_path.read_text(errors="replace"))
        return match.group(1) if match else None

    try:
        server.url = wait_for(listening, timeout=STARTUP_TIMEOUT, what="the server's port")
        probe = "/readyz" if ready else "/healthz"
        wait_for(
            lambda: httpx.get(server.url + probe, timeout=5).status_code == 200,
            timeout=STARTUP_TIMEOUT,
            what=f"{server.url}{probe}",
        )
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running_server(workdir: Path, database_url: str, **kwargs: object) -> Iterator[ServerProcess]:
    server = start_server(workdir, database_url, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def _admin_conninfo(server_url: str) -> str:
    return normalize_url(server_url).set(drivername="postgresql").render_as_string(False)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server at `server_url`; dropped afterwards."""
    name = f"api_{secrets.token_hex(6)}"
    admin = _admin_conninfo(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield normalize_url(server_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def run_sql(database_url: str, statement: str, params: Sequence[object] = ()) -> None:
    """Plain SQL against the server's database, outside Shiplane (to tamper, to break)."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        with sqlite3.connect(str(url.database)) as conn:
            conn.execute(statement.replace("%s", "?"), tuple(params))
        return
    with psycopg.connect(_admin_conninfo(database_url), autocommit=True) as conn:
        conn.execute(statement, tuple(params))  # type: ignore[arg-type]
