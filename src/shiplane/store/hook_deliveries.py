"""Webhook deliveries remembered for replay refusal (docs/sources.md, "Receivers").

`remember` runs in the caller's transaction (the one that writes the `hook.received`
audit event): a delivery is recorded if and only if it was accepted. The table is shared
by every replica (PostgreSQL), so a delivery replayed to another replica is refused too;
two replicas racing on the same delivery meet at the primary key and one of them loses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shiplane.store.models import HookDelivery

__all__ = ["delivery_key", "forget_expired", "remember"]


def delivery_key(kind: str, value: str) -> str:
    """The stored key: SHA-256 hex of `kind:value` (`id:<delivery id>`, `content:<hash>`)."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def forget_expired(s: Session, now: datetime) -> int:
    """Delete every remembered delivery whose window has passed; how many went."""
    result = s.execute(delete(HookDelivery).where(HookDelivery.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def remember(
    s: Session, receiver: str, keys: Iterable[str], *, now: datetime, window: timedelta
) -> bool:
    """Record the delivery under every one of `keys`; False (nothing recorded) when any
    of them is still remembered, i.e. the delivery is a replay."""
    unique = sorted(set(keys))
    forget_expired(s, now)
    seen = s.execute(
        select(HookDelivery.key).where(
            HookDelivery.receiver == receiver, HookDelivery.key.in_(unique)
        )
    ).first()
    if seen is not None:
        return False
    try:
        with s.begin_nested():
            s.add_all(
                HookDelivery(receiver=receiver, key=key, received_at=now, expires_at=now + window)
                for key in unique
            )
            s.flush()
    except IntegrityError:
        return False  # another replica recorded it between our read and our insert
    return True
