"""Leases: promotions claimed by one replica at a time (owner, expiry, fencing epoch),
named leases (cluster watches, environment deploys, replica liveness), and the replica
that runs each deploy run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("promotions") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(80), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("lease_epoch", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("deploy_runs") as batch:
        batch.add_column(sa.Column("replica", sa.String(80), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("owner", sa.String(80), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("acquired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("deploy_runs") as batch:
        batch.drop_column("replica")
    with op.batch_alter_table("promotions") as batch:
        batch.drop_column("lease_epoch")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
