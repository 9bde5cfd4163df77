"""Deploy engine: inventories, deploy runs, health reason and drift on deployments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("health_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sync_detail", sa.JSON(), nullable=True))
    op.create_table(
        "inventories",
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("environment", "app", name="pk_inventories"),
    )
    op.create_table(
        "deploy_runs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("group_id", sa.String(40), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("release_id", sa.String(32), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deploy_runs"),
    )
    op.create_index(
        "ix_deploy_runs_environment_app_started_at",
        "deploy_runs",
        ["environment", "app", "started_at"],
    )
    op.create_index("ix_deploy_runs_status", "deploy_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_deploy_runs_status", table_name="deploy_runs")
    op.drop_index("ix_deploy_runs_environment_app_started_at", table_name="deploy_runs")
    op.drop_table("deploy_runs")
    op.drop_table("inventories")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("sync_detail")
        batch.drop_column("health_reason")
