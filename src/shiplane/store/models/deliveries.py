"""Deliveries in and out: webhook deliveries seen, notifications to send, and the
polling state of artifact sources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shiplane.store.models.base import Base, UTCDateTime


class HookDelivery(Base):
    """A webhook delivery a receiver accepted, remembered until `expires_at` so the same
    delivery (same id, or same signature/body) is refused as a replay on every replica.
    `key` is a SHA-256 hex: of the sender's delivery id, or of the signed content."""

    __tablename__ = "hook_deliveries"

    receiver: Mapped[str] = mapped_column(String(63), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


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
