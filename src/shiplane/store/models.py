"""SQLAlchemy models. The schema itself is owned by the Alembic migrations in
migrations/versions; these models must match them (tests/integration/store checks that
autogenerate finds nothing to do)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shiplane.domain.audit import as_utc

# Explicit constraint names keep migrations portable (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware.

    SQLite has no time zone type and returns naive values; PostgreSQL returns aware ones
    in the session time zone. Normalising here means hashes and comparisons never depend
    on the backend.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        # SQLite stores the text form; dropping tzinfo keeps it sortable "YYYY-MM-DD ...".
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


# BIGINT primary keys are plain INTEGER on SQLite (its rowid alias is INTEGER only).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Release(Base):
    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), unique=True)
    creator: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Chart versions and config commits by app (release_contents.py); NULL: none.
    charts: Mapped[dict[str, str] | None] = mapped_column(JSON())
    commits: Mapped[dict[str, str] | None] = mapped_column(JSON())

    artifacts: Mapped[list[ReleaseArtifact]] = relationship(
        lazy="selectin", order_by="ReleaseArtifact.app", cascade="all, delete-orphan"
    )
    labels: Mapped[list[ReleaseLabel]] = relationship(
        lazy="selectin", order_by="ReleaseLabel.key", cascade="all, delete-orphan"
    )

    # Newest-first keyset pagination walks this index backwards.
    __table_args__ = (Index("ix_releases_created_at_id", "created_at", "id"),)


class ReleaseArtifact(Base):
    __tablename__ = "release_artifacts"

    release_id: Mapped[str] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    app: Mapped[str] = mapped_column(String(63), primary_key=True)
    image: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(128))
    digest: Mapped[str | None] = mapped_column(String(71))
    resolved_digest: Mapped[str | None] = mapped_column(String(71))
    ref: Mapped[str] = mapped_column(String(512))

    # "releases of app X" looks up (app) -> release ids.
    __table_args__ = (Index("ix_release_artifacts_app_release_id", "app", "release_id"),)


class ReleaseLabel(Base):
    __tablename__ = "release_labels"

    release_id: Mapped[str] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))

    __table_args__ = (Index("ix_release_labels_key_value", "key", "value", "release_id"),)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # seq is assigned by append_event (last + 1 under a lock), not by the database: it is
    # part of the hashed fields, so it must be known before the row is written.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    app: Mapped[str | None] = mapped_column(String(63))
    environment: Mapped[str | None] = mapped_column(String(63))
    # Plain JSON (not JSONB) on PostgreSQL: it keeps the text as written, so what a
    # verifier reads back is exactly what was hashed.
    details: Mapped[dict[str, Any]] = mapped_column(JSON())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    # Each filter is paired with seq so "newest first where actor=X" is one index range.
    __table_args__ = (
        Index("ix_audit_events_actor_seq", "actor", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_app_seq", "app", "seq"),
        Index("ix_audit_events_environment_seq", "environment", "seq"),
        Index("ix_audit_events_time", "time"),
    )


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    environments: Mapped[list[str]] = mapped_column(JSON())
    # Added in 0003: the groups an approver belongs to (approval policies name groups).
    groups: Mapped[list[str] | None] = mapped_column(JSON())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Added in 0014, for tokens minted by single sign-on: the provider identity
    # (`issuer#sub`), the role per environment where it differs from `role`, the end.
    subject: Mapped[str | None] = mapped_column(String(500))
    environment_roles: Mapped[dict[str, str] | None] = mapped_column(JSON())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser of the web UI (added in 0008). Only the SHA-256 of the session
    secret is stored; deleting or revoking the token ends its sessions."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- webhook receivers (0010) -------------------------------------------------------------


class HookDelivery(Base):
    """A webhook delivery a receiver accepted, remembered until `expires_at` so the same
    delivery (same id, or same signature/body) is refused as a replay on every replica.
    `key` is a SHA-256 hex: of the sender's delivery id, or of the signed content."""

    __tablename__ = "hook_deliveries"

    receiver: Mapped[str] = mapped_column(String(63), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


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


class LeaseRow(Base):
    """A named lease (0005): `watch/<cluster>`, `deploy/<environment>/<app>`, `replica/<id>`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80))
    epoch: Mapped[int] = mapped_column(Integer())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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


class NotificationDelivery(Base):
    """One event for one channel in the notification outbox (shiplane.store.outbox).

    Written in the transaction of the state change it reports; delivered later by the
    worker. `payload` is the event exactly as sent, never a secret: channel URLs, secrets
    and headers are read from the project configuration at delivery time.
    """

    __tablename__ = "notification_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(63))
    channel_kind: Mapped[str] = mapped_column(String(16))  # webhook | slack
    event: Mapped[str] = mapped_column(String(64))
    promotion_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer())  # per promotion, from 1
    payload: Mapped[Any] = mapped_column(JSON())
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while a worker holds the row (its lease runs until next_attempt_at): a result
    # is recorded only by the claim that is still current (fencing).
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("promotion_id", "channel", "sequence"),
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )


class SourceState(Base):
    """What an artifact source last found and how it fares (added in 0009): one row per
    source name, written only when something changed or a poll was made."""

    __tablename__ = "source_states"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(255))  # tag, chart version, commit
    digest: Mapped[str | None] = mapped_column(String(80))
    artifact: Mapped[str | None] = mapped_column(Text)  # the reference a release records
    healthy: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str | None] = mapped_column(Text)
    assembly: Mapped[str | None] = mapped_column(Text)  # why its last change made no release
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_release: Mapped[str | None] = mapped_column(String(64))
