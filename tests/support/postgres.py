"""PostgreSQL fixtures: a real server for the test session, a fresh database per test,
and the `db` fixture that runs store tests on both SQLite and PostgreSQL.

`SHIPLANE_TEST_POSTGRES_URL` (a server URL whose user may CREATE DATABASE) skips starting
a server; otherwise one is started with initdb + pg_ctl in a temporary directory on a
free 127.0.0.1 port and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from shiplane.store.db import Database, normalize_url

ENV_URL = "SHIPLANE_TEST_POSTGRES_URL"
STARTUP_TIMEOUT = 60.0
INSTALL_HINT = (
    "PostgreSQL server binaries not found; install them with `apt-get install postgresql`"
)


def _find_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        pytest.fail(f"{INSTALL_HINT} (missing {name})", pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres_user(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; tests run as root in CI containers.
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(f"running as root but there is no 'postgres' user; {INSTALL_HINT}")
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(
        _as_postgres_user(argv), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )


def _wait_ready(conninfo: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(conninfo, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.fail(
        f"PostgreSQL did not accept connections within {STARTUP_TIMEOUT:.0f}s: {last}\n"
        f"server log:\n{tail}",
        pytrace=False,
    )


@contextlib.contextmanager
def _local_server() -> Iterator[str]:
    initdb, pg_ctl = _find_bin("initdb"), _find_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="shiplane-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    started = False
    try:
        _run(
            [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            "initdb",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off "
            f"-c unix_socket_directories={sockets} -c max_connections=200"
        )
        # -W: do not wait inside pg_ctl; readiness is checked below with our own deadline.
        start = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-W", "start"]
        _run(start, "pg_ctl start")
        started = True
        _wait_ready(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", log)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL server (its maintenance database) for this test session."""
    external = os.environ.get(ENV_URL)
    if external:
        yield normalize_url(external).render_as_string(hide_password=False)
        return
    with _local_server() as url:
        yield url


def _admin_conninfo(server_url: str) -> str:
    url = normalize_url(server_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@pytest.fixture
def fresh_database_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the session's server; dropped after the test."""
    name = f"t_{secrets.token_hex(6)}"
    admin = _admin_conninfo(postgres_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield normalize_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database, on SQLite (a real file) or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shiplane.db'}"
    url: str = request.getfixturevalue("fresh_database_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated Database, once per backend (the same store tests run on both)."""
    database = Database.from_url(db_url)
    database.migrate()
    try:
        yield database
    finally:
        database.close()
