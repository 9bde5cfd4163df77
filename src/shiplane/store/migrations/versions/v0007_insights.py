"""Insights: promotions by the time of their last change, so a report over a time range
reads only the promotions that changed in it (plus the open ones, by state).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_promotions_updated_at", "promotions", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_promotions_updated_at", table_name="promotions")
