"""Tokens minted by single sign-on (docs/sso.md): the provider identity they stand for
(`issuer` + `sub`), the role per environment the person's groups map to, and an end
(SSO tokens are short-lived; API tokens made by hand keep no end, as before).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("subject", sa.String(500), nullable=True))
        batch.add_column(sa.Column("environment_roles", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("environment_roles")
        batch.drop_column("subject")
