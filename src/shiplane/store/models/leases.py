"""Leases: which replica does a piece of work (store/leases.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shiplane.store.models.base import Base, UTCDateTime


class LeaseRow(Base):
    """A named lease (0005): `watch/<cluster>`, `deploy/<environment>/<app>`, `replica/<id>`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80))
    epoch: Mapped[int] = mapped_column(Integer())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
