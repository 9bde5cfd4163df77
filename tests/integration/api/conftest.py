"""Fixtures: a real `shiplane serve` process per backend (SQLite and PostgreSQL).

`api_server` is shared by the tests of one module (per backend) to keep the suite fast;
tests that break the database or need an exact history use `fresh_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path

import pytest

from tests.support.serverproc import (
    DatabaseFactory,
    ServerProcess,
    postgres_database,
    running_server,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _database_factory(request: pytest.FixtureRequest) -> DatabaseFactory:
    if request.param == "sqlite":

        def sqlite_database(workdir: Path) -> AbstractContextManager[str]:
            workdir.mkdir(parents=True, exist_ok=True)
            return nullcontext(f"sqlite:///{workdir / 'shiplane.db'}")

        return sqlite_database
    server_url: str = request.getfixturevalue("postgres_url")
    return lambda _workdir: postgres_database(server_url)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> tuple[str, DatabaseFactory]:
    """The backend name and a factory of empty databases on it."""
    return request.param, _database_factory(request)


@pytest.fixture(scope="module")
def api_server(
    backend: tuple[str, DatabaseFactory], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    _name, make_database = backend
    workdir = tmp_path_factory.mktemp("api-server")
    with ExitStack() as stack:
        url = stack.enter_context(make_database(workdir))
        yield stack.enter_context(running_server(workdir, url))


@pytest.fixture
def fresh_server(backend: tuple[str, DatabaseFactory], tmp_path: Path) -> Iterator[ServerProcess]:
    _name, make_database = backend
    with ExitStack() as stack:
        url = stack.enter_context(make_database(tmp_path))
        yield stack.enter_context(running_server(tmp_path, url))
