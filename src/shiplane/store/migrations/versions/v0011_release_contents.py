"""Release contents beyond images: each release's chart versions and config commits
(`{app: "VERSION[@sha256:...]"}`, `{app: "<40 hex>"}`), NULL for a release of images only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("charts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("commits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("commits")
        batch.drop_column("charts")
