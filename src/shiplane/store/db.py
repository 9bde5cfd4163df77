"""Database connection, sessions and migrations (docs/contracts.md, docs/store.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Transaction-level advisory lock keys on PostgreSQL (arbitrary, fixed, distinct).
MIGRATE_LOCK_KEY = 0x53484C4D  # "SHLM"
AUDIT_LOCK_KEY = 0x53484C41  # "SHLA"
BOOTSTRAP_LOCK_KEY = 0x53484C42  # "SHLB"

SQLITE_BUSY_TIMEOUT_MS = 30_000

# Execution option that marks a read-only SQLite transaction (plain deferred BEGIN).
_READONLY = "shiplane_readonly"


def default_database_url(data_dir: Path) -> str:
    """The embedded SQLite database in `data_dir` (WAL mode is set on every connection)."""
    return f"sqlite:///{Path(data_dir).resolve() / 'shiplane.db'}"


def normalize_url(url: str | URL) -> URL:
    """Make `postgresql://` and `postgres://` use psycopg 3, our PostgreSQL driver."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB"
        )
    return parsed


class Database:
    """One engine plus a session factory. Thread-safe; share one per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(
            bind=engine.execution_options(**{_READONLY: True}), expire_on_commit=False
        )
        self._migrate_lock = threading.Lock()
        # SQLite has one writer at a time. Writers of this process queue here, in order,
        # instead of in SQLite's busy handler, which sleeps in steps of up to 25 ms and
        # so makes a short wait for the lock a long one (other processes still meet the
        # busy handler, as before).
        self._sqlite_writers = threading.RLock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def from_url(cls, url: str | URL, **engine_kwargs: Any) -> Database:
        parsed = normalize_url(url)
        if parsed.get_backend_name() == "sqlite":
            return cls(_sqlite_engine(parsed, **engine_kwargs))
        engine_kwargs.setdefault("pool_pre_ping", True)
        return cls(create_engine(parsed, **engine_kwargs))

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The URL without its password (safe to log)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A Session inside one transaction: commit on success, rollback on error.

        On SQLite every transaction starts with BEGIN IMMEDIATE, which takes the write
        lock up front: writers then queue on busy_timeout instead of failing later with
        SQLITE_BUSY when a read transaction tries to upgrade (and writers of this process
        queue on a lock of their own first, see __init__). `readonly=True` (an
        extension of the contract) uses a deferred BEGIN, so pure reads run alongside a
        writer under WAL; never write in such a session.
        """
        if readonly or self._sqlite_writers is None:
            factory = self._readonly_sessions if readonly else self._sessions
            with factory() as session, session.begin():
                yield session
            return
        with self._sqlite_writers, self._sessions() as session, session.begin():
            yield session

    def transact(self, fn: Callable[[Session], T], *, retries: int = 3) -> T:
        """Run `fn` in one write transaction; when PostgreSQL aborts it to break a lock
        cycle (rare, between replicas), it rolled back entirely, so run it again."""
        for attempt in range(retries + 1):
            try:
                with self.session() as s:
                    return fn(s)
            except Exception as exc:
                if attempt == retries or not is_deadlock(exc):
                    raise
        raise AssertionError("unreachable")

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration. Idempotent; safe on every start
        and from several replicas at once (PostgreSQL: an advisory lock serialises them;
        SQLite: BEGIN IMMEDIATE does)."""
        with self._migrate_lock, self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
            command.upgrade(_alembic_config(conn), "head")

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        self.engine.dispose()


def is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL aborted the transaction to break a lock cycle (SQLSTATE 40P01), or a
    serializable conflict (40001): the transaction rolled back and may simply run again."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in ("40P01", "40001")


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock from a name."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def head_revision() -> str:
    """The newest migration shipped with this version of Shiplane."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def _alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config built in code: no alembic.ini is needed at run time."""
    cfg = Config()
    # ConfigParser interpolation: a "%" in the install path must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def _sqlite_engine(url: URL, **engine_kwargs: Any) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine_kwargs.setdefault("connect_args", {})
    # Sessions move between FastAPI's threadpool threads; the pool hands one connection to
    # one thread at a time, so sharing across threads is safe.
    engine_kwargs["connect_args"].setdefault("check_same_thread", False)
    engine_kwargs["connect_args"].setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, **engine_kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module (which would otherwise BEGIN
        # lazily and DEFERRED) so that the "begin" hook below decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_READONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
