"""Which release each environment verified, per app: what the upstream rule and rollback
targets read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiplane.store.models import VerificationRow

# --- verifications --------------------------------------------------------------------------


def record_verification(
    s: Session,
    *,
    environment: str,
    apps: Iterable[str],
    release_id: str,
    promotion_id: str,
    at: datetime,
) -> None:
    for app in apps:
        s.add(
            VerificationRow(
                environment=environment,
                app=app,
                release_id=release_id,
                promotion_id=promotion_id,
                verified_at=at,
            )
        )
    s.flush()


def verified_apps(
    s: Session, release_id: str, environments: Sequence[str]
) -> dict[str, dict[str, datetime]]:
    """environment -> app -> first time `release_id` was verified there."""
    result: dict[str, dict[str, datetime]] = {env: {} for env in environments}
    if not environments:
        return result
    query = select(VerificationRow).where(
        VerificationRow.release_id == release_id, VerificationRow.environment.in_(environments)
    )
    for row in s.scalars(query):
        seen = result[row.environment].get(row.app)
        if seen is None or row.verified_at < seen:
            result[row.environment][row.app] = row.verified_at
    return result


def last_verified_release(
    s: Session, environment: str, app: str, *, exclude: str | None = None
) -> str | None:
    """The release most recently verified in `environment` for `app` (not `exclude`)."""
    query = select(VerificationRow.release_id).where(
        VerificationRow.environment == environment, VerificationRow.app == app
    )
    if exclude is not None:
        query = query.where(VerificationRow.release_id != exclude)
    query = query.order_by(VerificationRow.verified_at.desc(), VerificationRow.id.desc()).limit(1)
    return s.scalar(query)
