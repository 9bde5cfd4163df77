"""Web UI sessions (docs/ui.md): a random secret in an HttpOnly cookie, stored here only
as its SHA-256, tied to the API token that signed in and ending at a fixed time.

A session is only as good as its token: revoking the token ends every session it opened
(the lookup joins the token and demands it unrevoked), and deleting it deletes them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shiplane.store.models import ApiToken, WebSession
from shiplane.store.records import TokenRecord
from shiplane.store.tokens import get_token

__all__ = [
    "SESSION_LIFETIME",
    "create_session",
    "delete_session",
    "hash_session",
    "is_expired",
    "session_token",
]

SESSION_LIFETIME = timedelta(hours=12)
"""How long a sign-in lasts; then the browser signs in again."""
MAX_SECRET_LENGTH = 256


def _now() -> datetime:
    return datetime.now(UTC)


def hash_session(secret: str) -> str:
    """SHA-256 hex of the session secret: 256 random bits need no slow hash (see
    tokens.hash_token), and a fast one lets the lookup use the primary key."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def is_expired(expires_at: datetime, now: datetime) -> bool:
    """A session ends at `expires_at` exactly (not one tick later)."""
    return now >= expires_at


def create_session(
    s: Session,
    token_id: str,
    *,
    lifetime: timedelta = SESSION_LIFETIME,
    now: Callable[[], datetime] = _now,
) -> tuple[str, datetime]:
    """Open a session for the token; return the secret (for the cookie, never stored)
    and when it expires. Expired sessions of anyone are removed on the way."""
    current = now()
    s.execute(delete(WebSession).where(WebSession.expires_at <= current))
    secret = secrets.token_urlsafe(32)
    expires_at = current + lifetime
    s.add(
        WebSession(
            session_hash=hash_session(secret),
            token_id=token_id,
            created_at=current,
            expires_at=expires_at,
        )
    )
    s.flush()
    return secret, expires_at


def session_token(
    s: Session, secret: str, *, now: Callable[[], datetime] = _now
) -> TokenRecord | None:
    """The token behind a live session, or None (unknown, expired, or its token revoked).
    Only reads, so it runs in a read-only session."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    digest = hash_session(secret)
    row = s.execute(
        select(WebSession.session_hash, WebSession.expires_at, ApiToken)
        .join(ApiToken, ApiToken.id == WebSession.token_id)
        .where(WebSession.session_hash == digest, ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    current = now()
    token_end = row[2].expires_at
    if is_expired(row[1], current) or (token_end is not None and is_expired(token_end, current)):
        return None
    # The token row is in the session's identity map now: this reads no more rows.
    return get_token(s, row[2].id)


def delete_session(s: Session, secret: str) -> bool:
    """End a session (sign-out); False when there was none."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return False
    result = s.execute(delete(WebSession).where(WebSession.session_hash == hash_session(secret)))
    return bool(getattr(result, "rowcount", 0))
