"""CSRF tokens: every state-changing request of a signed-in browser carries one (form
field `csrf_token`, or header `X-CSRF-Token` from htmx), derived from the session secret.

Derived rather than stored: the session secret never leaves the HttpOnly cookie and the
database holds only its hash, so a token can be recomputed per request but not forged
without the cookie, and a database dump yields neither.
"""

from __future__ import annotations

import hashlib
import hmac

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_PURPOSE = b"shiplane-web-csrf-v1"


def csrf_token(session_secret: str) -> str:
    """The CSRF token of a session (HMAC-SHA256 of a fixed purpose under its secret)."""
    return hmac.new(session_secret.encode("utf-8"), _PURPOSE, hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing or empty token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
