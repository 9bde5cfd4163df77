"""Promotions: state machines, steps, approvals, holds, freezes, verifications; token groups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("groups", sa.JSON(), nullable=True))
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("apps", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("next_check_at", UTCDateTime(), nullable=True),
        sa.Column("rollback_of", sa.String(40), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_promotions"),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name="fk_promotions_release_id_releases"
        ),
    )
    op.create_index("ix_promotions_state_next_check_at", "promotions", ["state", "next_check_at"])
    op.create_index("ix_promotions_environment_state", "promotions", ["environment", "state"])
    op.create_index(
        "ix_promotions_release_id_environment", "promotions", ["release_id", "environment"]
    )
    op.create_index("ix_promotions_created_at_id", "promotions", ["created_at", "id"])
    op.create_table(
        "promotion_steps",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("promotion_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_promotion_steps"),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name="fk_promotion_steps_promotion_id_promotions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_promotion_steps_promotion_id_id", "promotion_steps", ["promotion_id", "id"])
    op.create_table(
        "approvals",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("promotion_id", sa.String(40), nullable=False),
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
    )
    op.create_index(
        "ix_approvals_release_id_environment", "approvals", ["release_id", "environment"]
    )
    op.create_table(
        "holds",
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("environment", "app", name="pk_holds"),
    )
    op.create_table(
        "freezes",
        sa.Column("scope_key", sa.String(63), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope_key", name="pk_freezes"),
    )
    op.create_table(
        "verifications",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("promotion_id", sa.String(40), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verifications"),
    )
    op.create_index(
        "ix_verifications_environment_app_verified_at",
        "verifications",
        ["environment", "app", "verified_at"],
    )
    op.create_index(
        "ix_verifications_release_id_environment",
        "verifications",
        ["release_id", "environment"],
    )


def downgrade() -> None:
    for table in (
        "verifications",
        "freezes",
        "holds",
        "approvals",
        "promotion_steps",
        "promotions",
    ):
        op.drop_table(table)
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("groups")
