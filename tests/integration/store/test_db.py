"""Database, migrations and connection settings, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from shiplane.store.db import Database, default_database_url, head_revision, normalize_url
from shiplane.store.models import Base

TABLES = {"releases", "release_artifacts", "release_labels", "audit_events", "api_tokens",
          "deployments", "inventories", "deploy_runs", "alembic_version"}  # fmt: skip


def test_migrate_is_idempotent(db: Database) -> None:
    db.migrate()  # the fixture already migrated once
    db.migrate()
    assert db.current_revision() == head_revision()
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.ping()


def test_models_match_migrations(db: Database) -> None:
    # If a model changes without a migration, autogenerate would find a difference.
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_migrate_fresh_database_twice_from_two_instances(db_url: str) -> None:
    first, second = Database.from_url(db_url), Database.from_url(db_url)
    try:
        first.migrate()
        second.migrate()
        assert second.current_revision() == head_revision()
    finally:
        first.close()
        second.close()


def test_session_commits_and_rolls_back(db: Database) -> None:
    with db.session() as s:
        s.execute(text("CREATE TABLE scratch (x INTEGER)"))
    with pytest.raises(RuntimeError), db.session() as s:
        s.execute(text("INSERT INTO scratch VALUES (1)"))
        raise RuntimeError("boom")
    with db.session() as s:
        s.execute(text("INSERT INTO scratch VALUES (2)"))
    with db.session(readonly=True) as s:
        assert s.execute(text("SELECT x FROM scratch")).scalars().all() == [2]


def test_sqlite_pragmas(tmp_path: Path) -> None:
    database = Database.from_url(default_database_url(tmp_path / "data"))
    try:
        database.migrate()
        assert (tmp_path / "data" / "shiplane.db").exists()
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        database.close()


def test_default_database_url(tmp_path: Path) -> None:
    assert default_database_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/shiplane.db"


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg"),
        ("postgres://u:p@h/d", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_normalize_url(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_unsupported_url() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        normalize_url("mysql://u@h/d")


def test_password_hidden() -> None:
    database = Database.from_url("postgresql://user:s3cret@127.0.0.1:1/x")
    try:
        assert "s3cret" not in database.url
        assert database.dialect == "postgresql"
    finally:
        database.close()


def test_sqlite_readonly_session_reads_alongside_a_writer(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        database.migrate()
        with database.session() as writer:
            writer.execute(text("INSERT INTO deployments (environment, app, updated_at) "
                                "VALUES ('dev', 'a', '2026-01-01 00:00:00')"))  # fmt: skip
            # The writer holds SQLite's write lock; a read-only session must not wait for it
            # (a timeout here would mean it queued behind the writer for busy_timeout).
            with database.session(readonly=True) as reader:
                count = reader.execute(text("SELECT count(*) FROM deployments")).scalar()
            assert count == 0  # WAL: the reader sees the last committed state
    finally:
        database.close()
