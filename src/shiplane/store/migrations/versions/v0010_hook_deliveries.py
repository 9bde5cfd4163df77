"""Webhook receivers: deliveries remembered for their replay window, keyed by receiver
and the SHA-256 of the delivery id or of the signed content.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hook_deliveries",
        sa.Column("receiver", sa.String(63), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("receiver", "key", name="pk_hook_deliveries"),
    )
    op.create_index("ix_hook_deliveries_expires_at", "hook_deliveries", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_hook_deliveries_expires_at", table_name="hook_deliveries")
    op.drop_table("hook_deliveries")
