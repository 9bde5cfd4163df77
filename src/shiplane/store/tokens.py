"""API tokens: created once, shown once, stored as a hash (docs/store.md).

Format: "shp_" + 32 random bytes in unpadded urlsafe base64 (43 characters).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shiplane.domain.roles import Role, parse_role
from shiplane.store.db import BOOTSTRAP_LOCK_KEY
from shiplane.store.models import ApiToken
from shiplane.store.records import TokenRecord

__all__ = [
    "TOKEN_PREFIX",
    "SsoGrant",
    "authenticate",
    "create_token",
    "ensure_bootstrap_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "shp_"  # noqa: S105 - a public prefix, not a secret
MIN_BOOTSTRAP_LENGTH = 24
# last_used_at is a hint for humans; writing it on every request would turn every read
# into a write, so it is refreshed at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _now() -> datetime:
    return datetime.now(UTC)


def hash_token(plaintext: str) -> str:
    """SHA-256 hex of the token. A fast hash is right here: tokens are 256-bit random
    values, so there is nothing to brute-force, unlike passwords (which need a slow,
    salted hash). A fast hash also lets authenticate look the token up by index."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def new_token_plaintext() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class SsoGrant:
    """What a token minted by single sign-on carries beyond a role and scope: who it
    stands for at the provider, the role per environment, how long it lives."""

    subject: str
    environment_roles: tuple[tuple[str, Role], ...]
    lifetime: timedelta


def _to_record(row: ApiToken) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        role=parse_role(row.role),
        environments=list(row.environments),
        groups=list(row.groups or []),
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        subject=row.subject,
        environment_roles={env: parse_role(r) for env, r in (row.environment_roles or {}).items()},
        expires_at=row.expires_at,
    )


def _insert(
    s: Session,
    *,
    name: str,
    role: Role | str,
    environments: Sequence[str],
    created_by: str,
    plaintext: str,
    now: datetime,
    groups: Sequence[str] = (),
    sso: SsoGrant | None = None,
) -> TokenRecord:
    if not name:
        raise ValueError("a token needs a name")
    row = ApiToken(
        id="tok-" + secrets.token_hex(8),
        name=name,
        token_hash=hash_token(plaintext),
        role=parse_role(role).value,
        environments=sorted(set(environments)),
        groups=sorted(set(groups)),
        created_by=created_by,
        created_at=now,
        last_used_at=None,
        revoked_at=None,
        subject=sso.subject if sso else None,
        environment_roles=(
            {env: parse_role(r).value for env, r in sso.environment_roles} if sso else None
        ),
        expires_at=now + sso.lifetime if sso else None,
    )
    s.add(row)
    s.flush()
    return _to_record(row)


def create_token(
    s: Session,
    *,
    name: str,
    role: Role | str,
    environments: Sequence[str],
    created_by: str,
    now: Callable[[], datetime] = _now,
    groups: Sequence[str] = (),
    sso: SsoGrant | None = None,
) -> tuple[TokenRecord, str]:
    """Create a token; return its record and the plaintext (shown once, never stored).

    `environments` empty means all environments. Raises UnknownRoleError (ValueError).
    """
    plaintext = new_token_plaintext()
    record = _insert(
        s,
        name=name,
        role=role,
        environments=environments,
        created_by=created_by,
        plaintext=plaintext,
        now=now(),
        groups=groups,
        sso=sso,
    )
    return record, plaintext


def authenticate(
    s: Session, plaintext: str, *, now: Callable[[], datetime] = _now, touch: bool = True
) -> TokenRecord | None:
    """The active token with this plaintext, or None (unknown, revoked or malformed).

    With `touch` it may update last_used_at (at most once a minute), so call it in a
    writable session; without, it only reads (see `needs_touch` and `mark_used`).
    """
    if not plaintext or len(plaintext) > 512:
        return None
    digest = hash_token(plaintext)
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup already matched on the hash; compare_digest keeps the final decision
    # constant-time as defence in depth against a lookup that is not an exact match.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None:
        return None
    current = now()
    if row.expires_at is not None and current >= row.expires_at:
        return None
    if touch and needs_touch(row.last_used_at, current):
        row.last_used_at = current
        s.flush()
    return _to_record(row)


def needs_touch(last_used_at: datetime | None, current: datetime) -> bool:
    """Whether last_used_at is older than its resolution (a write is due)."""
    return last_used_at is None or current - last_used_at >= LAST_USED_RESOLUTION


def mark_used(s: Session, token_id: str, *, now: Callable[[], datetime] = _now) -> None:
    """Record a use of the token (the write half of a read-only authenticate)."""
    row = s.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = now()
        s.flush()


def list_tokens(s: Session) -> list[TokenRecord]:
    rows = s.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))
    return [_to_record(r) for r in rows]


def get_token(s: Session, token_id: str) -> TokenRecord | None:
    row = s.get(ApiToken, token_id)
    return None if row is None else _to_record(row)


def revoke_token(
    s: Session, token_id: str, *, now: Callable[[], datetime] = _now
) -> TokenRecord | None:
    """Revoke a token; None when it does not exist. Revoking twice keeps the first time."""
    row = s.get(ApiToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now()
        s.flush()
    return _to_record(row)


def ensure_bootstrap_token(
    s: Session, plaintext: str | None, *, now: Callable[[], datetime] = _now
) -> str | None:
    """On first start, create an admin token and return its plaintext.

    Uses `plaintext` when given (SHIPLANE_BOOTSTRAP_TOKEN, for automation; it must be at
    least 24 characters, since only a fast hash protects it). Returns None when an
    active (unrevoked) admin token already exists; so if every admin token has been
    revoked, the next start mints a new one, which is the recovery path.
    Replicas starting together are serialised by a lock, so only one token is made.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BOOTSTRAP_LOCK_KEY})
    existing = s.scalar(
        select(ApiToken.id)
        .where(ApiToken.role == Role.ADMIN.value, ApiToken.revoked_at.is_(None))
        .limit(1)
    )
    if existing is not None:
        return None
    if plaintext is not None:
        plaintext = plaintext.strip()
        if len(plaintext) < MIN_BOOTSTRAP_LENGTH:
            raise ValueError(
                f"bootstrap token too short: use at least {MIN_BOOTSTRAP_LENGTH} random "
                "characters (for example 'shp_' + `openssl rand -hex 24`)"
            )
        if s.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(plaintext))):
            # The same secret was used for a now-revoked token; reusing it would revive it.
            raise ValueError("bootstrap token was used before and revoked; choose a new one")
    else:
        plaintext = new_token_plaintext()
    _insert(
        s,
        name="bootstrap",
        role=Role.ADMIN,
        environments=[],
        created_by="bootstrap",
        plaintext=plaintext,
        now=now(),
    )
    return plaintext
