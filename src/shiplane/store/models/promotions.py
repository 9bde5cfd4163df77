"""Promotions and their record (steps, approvals, verifications); the holds and
freezes that stop them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shiplane.store.models.base import Base, BigIntPK, UTCDateTime


class PromotionRow(Base):
    """A persisted promotion state machine (shiplane.domain.promotion.Promotion)."""

    __tablename__ = "promotions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"))
    environment: Mapped[str] = mapped_column(String(63))
    apps: Mapped[Any] = mapped_column(JSON())
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text())
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the reconciler should look at it again (None: only when woken by an event).
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rollback_of: Mapped[str | None] = mapped_column(String(40))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    # Engine state that must survive a restart: gate results, check states, verify start.
    data: Mapped[Any] = mapped_column(JSON())
    # The replica working on it now (0005): set by a claim, renewed by its heartbeat, handed
    # back when the work pauses. `lease_epoch` grows with every claim: it is the fencing
    # token that every write of the worker checks.
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_epoch: Mapped[int] = mapped_column(Integer(), server_default="0")

    __table_args__ = (
        Index("ix_promotions_state_next_check_at", "state", "next_check_at"),
        Index("ix_promotions_environment_state", "environment", "state"),
        Index("ix_promotions_release_id_environment", "release_id", "environment"),
        Index("ix_promotions_created_at_id", "created_at", "id"),
        # Insights read the promotions that changed in a time range (0007).
        Index("ix_promotions_updated_at", "updated_at"),
    )


class PromotionStepRow(Base):
    __tablename__ = "promotion_steps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    promotion_id: Mapped[str] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text())
    data: Mapped[Any] = mapped_column(JSON())

    __table_args__ = (Index("ix_promotion_steps_promotion_id_id", "promotion_id", "id"),)


class ApprovalRow(Base):
    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    promotion_id: Mapped[str] = mapped_column(String(40))
    release_id: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(63))
    user: Mapped[str] = mapped_column(String(200))
    groups: Mapped[Any] = mapped_column(JSON())
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text())
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_approvals_release_id_environment", "release_id", "environment"),)


class VerificationRow(Base):
    """A release verified in an environment for an app: what upstream gates and rollback
    ('the last verified release') read."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    app: Mapped[str] = mapped_column(String(63))
    release_id: Mapped[str] = mapped_column(String(32))
    promotion_id: Mapped[str] = mapped_column(String(40))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_verifications_environment_app_verified_at", "environment", "app", "verified_at"),
        Index("ix_verifications_release_id_environment", "release_id", "environment"),
    )


# --- notifications (0004) -----------------------------------------------------------------


class HoldRow(Base):
    __tablename__ = "holds"

    environment: Mapped[str] = mapped_column(String(63), primary_key=True)
    app: Mapped[str] = mapped_column(String(63), primary_key=True)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text())


class FreezeRow(Base):
    __tablename__ = "freezes"

    # "*" for the whole project, else the environment's name.
    scope_key: Mapped[str] = mapped_column(String(63), primary_key=True)
    reason: Mapped[str] = mapped_column(Text())
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
