"""What a bearer token says about itself: a Kubernetes service account token is a JWT whose
`exp` claim is its expiry. Read without verifying the signature (the API server verifies
it); used only to tell people when credentials expire or expired."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime


def token_claims(token: str) -> dict[str, object] | None:
    """The JWT payload of `token`, or None when it is not a JWT."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, json.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def token_expiry_at(token: str) -> datetime | None:
    claims = token_claims(token)
    exp = None if claims is None else claims.get("exp")
    if not isinstance(exp, int | float):
        return None
    return datetime.fromtimestamp(exp, UTC)


def token_expiry(token: str) -> str | None:
    """The token's expiry as RFC 3339 (UTC, seconds), or None when it names none."""
    at = token_expiry_at(token)
    return None if at is None else at.isoformat(timespec="seconds").replace("+00:00", "Z")
