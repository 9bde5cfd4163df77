"""Initial schema: releases, audit trail, API tokens, deployments.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Migrations spell types out instead of importing the models, so later model changes
# cannot silently rewrite history. UTCDateTime in models.py is DateTime(timezone=True).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("creator", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_releases"),
        sa.UniqueConstraint("alias", name="uq_releases_alias"),
    )
    op.create_index("ix_releases_created_at_id", "releases", ["created_at", "id"])

    op.create_table(
        "release_artifacts",
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("tag", sa.String(128), nullable=True),
        sa.Column("digest", sa.String(71), nullable=True),
        sa.Column("resolved_digest", sa.String(71), nullable=True),
        sa.Column("ref", sa.String(512), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name="fk_release_artifacts_release_id_releases",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "app", name="pk_release_artifacts"),
    )
    op.create_index(
        "ix_release_artifacts_app_release_id", "release_artifacts", ["app", "release_id"]
    )

    op.create_table(
        "release_labels",
        sa.Column("release_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(63), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name="fk_release_labels_release_id_releases",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "key", name="pk_release_labels"),
    )
    op.create_index("ix_release_labels_key_value", "release_labels", ["key", "value", "release_id"])

    op.create_table(
        "audit_events",
        sa.Column("seq", BigIntPK, autoincrement=False, nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("app", sa.String(63), nullable=True),
        sa.Column("environment", sa.String(63), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_actor_seq", "audit_events", ["actor", "seq"])
    op.create_index("ix_audit_events_action_seq", "audit_events", ["action", "seq"])
    op.create_index("ix_audit_events_app_seq", "audit_events", ["app", "seq"])
    op.create_index("ix_audit_events_environment_seq", "audit_events", ["environment", "seq"])
    op.create_index("ix_audit_events_time", "audit_events", ["time"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("environments", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )

    op.create_table(
        "deployments",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("release_id", sa.String(32), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("sync_status", sa.String(32), nullable=True),
        sa.Column("health", sa.String(32), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name="fk_deployments_release_id_releases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
        sa.UniqueConstraint("environment", "app", name="uq_deployments_environment"),
    )


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("api_tokens")
    op.drop_table("audit_events")
    op.drop_table("release_labels")
    op.drop_table("release_artifacts")
    op.drop_table("releases")
