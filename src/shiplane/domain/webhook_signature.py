"""Webhook signatures: HMAC-SHA256 over `"<timestamp>." + body`, the one implementation.

Shiplane signs its outgoing webhooks with it (`engine/notify.py`) and checks incoming ones
from any CI with it (the `generic` receiver, `sources/receivers/generic.py`), so both
directions speak the format docs/notifications.md documents. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE = 300.0
"""Seconds a timestamp may be away from now, either way, before it is stale."""

HEADER_EVENT = "X-Shiplane-Event"
HEADER_DELIVERY = "X-Shiplane-Delivery"
HEADER_TIMESTAMP = "X-Shiplane-Timestamp"
HEADER_SIGNATURE = "X-Shiplane-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 over `"<timestamp>." + body` with the shared secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def parse_timestamp(timestamp: str) -> int | None:
    """The Unix seconds of a timestamp header, or None when it is not a plain integer."""
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def is_fresh(sent: int, now: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether `sent` is within `tolerance` seconds of `now` (either way: clocks drift)."""
    return abs(now - sent) <= tolerance


def signature_matches(secret: str, sent: int, body: bytes, signature: str) -> bool:
    """Constant-time comparison of `signature` with the one `secret` gives."""
    return hmac.compare_digest(sign(secret, sent, body).encode(), signature.strip().encode())


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    signature: str,
    body: bytes,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """What a receiver does: the timestamp is recent and the signature matches."""
    sent = parse_timestamp(timestamp)
    if sent is None or not is_fresh(sent, now, tolerance):
        return False
    return signature_matches(secret, sent, body, signature)


def body_hmac_matches(secret: str, body: bytes, given: str, *, prefix: str = "") -> bool:
    """Constant-time check of a forge's body signature: `given` is `prefix` + the hex
    HMAC-SHA256 of the body under `secret` (Gitea: no prefix; GitHub: `sha256=`)."""
    expected = prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def token_matches(secret: str, given: str) -> bool:
    """Constant-time equality of a secret sent as it is (GitLab's `X-Gitlab-Token`)."""
    return hmac.compare_digest(given.strip().encode(), secret.encode())
