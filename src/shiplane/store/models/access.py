"""Who acts and what they did: API tokens, web sessions, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shiplane.store.models.base import Base, BigIntPK, UTCDateTime


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
