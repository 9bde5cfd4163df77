"""Promotion ids: `prm-` + a ULID (26 Crockford base32 characters).

A ULID starts with the creation time in milliseconds, so ids sort in creation order
(lists, cursors and git trailers read chronologically) and the random tail keeps two
promotions created in the same millisecond apart. Randomness is injectable for tests.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime

from shiplane.domain.clock import ensure_utc

PROMOTION_ID_PREFIX = "prm-"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_RANDOM_BYTES = 10  # 80 bits, as the ULID spec says


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_promotion_id(
    created_at: datetime, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> str:
    """A new id for a promotion created at `created_at` (aware)."""
    millis = int(ensure_utc(created_at).timestamp() * 1000)
    if not 0 <= millis < 2**48:
        raise ValueError(f"{created_at.isoformat()} is outside the range a ULID can encode")
    entropy = random_bytes(_RANDOM_BYTES)
    if len(entropy) != _RANDOM_BYTES:
        raise ValueError(f"need {_RANDOM_BYTES} random bytes, got {len(entropy)}")
    value = (millis << 80) | int.from_bytes(entropy, "big")
    return PROMOTION_ID_PREFIX + _encode(value, 26)


def is_promotion_id(text: str) -> bool:
    return text.startswith(PROMOTION_ID_PREFIX) and bool(
        _ULID.fullmatch(text[len(PROMOTION_ID_PREFIX) :])
    )


MIN_PREFIX_CHARS = 4
_CROCKFORD_PREFIX = re.compile(r"[0-9A-HJKMNP-TV-Z]{1,26}")


def promotion_id_prefix(text: str) -> str | None:
    """`prm-01jx3k` or bare `01JX3K` (at least MIN_PREFIX_CHARS ULID characters) -> the
    id prefix `prm-01JX3K`; None when `text` cannot start a promotion id."""
    body = text.strip()
    if body.lower().startswith(PROMOTION_ID_PREFIX):
        body = body[len(PROMOTION_ID_PREFIX) :]
    body = body.upper()
    if len(body) < MIN_PREFIX_CHARS or not _CROCKFORD_PREFIX.fullmatch(body):
        return None
    return PROMOTION_ID_PREFIX + body
