"""Deploy runs found by their group (a promotion's id): a deploy asks whether its group
ran before, which says whether git may already hold its commit.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deploy_runs_group_id", "deploy_runs", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_deploy_runs_group_id", table_name="deploy_runs")
