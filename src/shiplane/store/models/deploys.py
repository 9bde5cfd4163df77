"""Deploys: what runs where (deployments, live inventories) and each deploy run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shiplane.store.models.base import Base, BigIntPK, UTCDateTime


class Deployment(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    app: Mapped[str] = mapped_column(String(63))
    release_id: Mapped[str | None] = mapped_column(ForeignKey("releases.id"))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    sync_status: Mapped[str | None] = mapped_column(String(32))
    health: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Added in 0002 (deploy engine): why the health is what it is, and the drift found.
    health_reason: Mapped[str | None] = mapped_column(Text())
    sync_detail: Mapped[Any | None] = mapped_column(JSON())
    # Added in 0006: why the app is orphaned (removed from git, its objects left in the
    # cluster); None while the app is part of the environment.
    orphaned: Mapped[str | None] = mapped_column(Text())

    __table_args__ = (UniqueConstraint("environment", "app"),)


class Inventory(Base):
    """What Shiplane applied for one (environment, app): the set that prune compares."""

    __tablename__ = "inventories"

    environment: Mapped[str] = mapped_column(String(63), primary_key=True)
    app: Mapped[str] = mapped_column(String(63), primary_key=True)
    objects: Mapped[Any] = mapped_column(JSON())
    git_commit: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeployRun(Base):
    """One deploy or sync of one app into one environment, with its recorded steps."""

    __tablename__ = "deploy_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(40))  # apps deployed by one commit
    environment: Mapped[str] = mapped_column(String(63))
    app: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))  # deploy | sync | rollback
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    release_id: Mapped[str | None] = mapped_column(String(32))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    steps: Mapped[Any] = mapped_column(JSON())
    error: Mapped[str | None] = mapped_column(Text())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The replica (shiplane serve process) that runs it: a run left `running` by a replica
    # whose liveness lease expired was interrupted (0005).
    replica: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("ix_deploy_runs_environment_app_started_at", "environment", "app", "started_at"),
        Index("ix_deploy_runs_status", "status"),
        Index("ix_deploy_runs_group_id", "group_id"),
    )


# --- promotions (0003) ----------------------------------------------------------------------
