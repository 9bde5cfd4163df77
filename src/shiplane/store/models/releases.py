"""Releases: what was built (its artifacts, its labels)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shiplane.store.models.base import Base, UTCDateTime


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
