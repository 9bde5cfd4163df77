"""Alembic environment for Shiplane. Database.migrate() passes an open connection in
`config.attributes["connection"]`; there is no alembic.ini and no offline mode."""

from __future__ import annotations

from alembic import context

from shiplane.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by misuse
    raise RuntimeError("run migrations through shiplane.store.db.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables for later migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
