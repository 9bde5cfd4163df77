"""Artifact sources: what each source last found (version, digest, the reference a
release records), its health with the reason, why its last change assembled no release,
and its next poll time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "source_states",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.String(255), nullable=True),
        sa.Column("digest", sa.String(80), nullable=True),
        sa.Column("artifact", sa.Text(), nullable=True),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("assembly", sa.Text(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("changed_at", UTCDateTime(), nullable=True),
        sa.Column("next_poll_at", UTCDateTime(), nullable=True),
        sa.Column("last_release", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_source_states"),
    )


def downgrade() -> None:
    op.drop_table("source_states")
