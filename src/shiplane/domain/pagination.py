"""Opaque pagination cursors.

A cursor is base64url (unpadded) of a small JSON object ``{"k": kind, "v": [...]}``.
The kind keeps a cursor from one listing (say releases) from being replayed against
another (audit events), where its values would mean something else. Cursors are not
signed: they only carry keyset positions, never anything that grants access.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

_MAX_CURSOR_LENGTH = 1024


class InvalidCursorError(ValueError):
    """A cursor that this listing did not produce (garbled, truncated or foreign)."""


def encode_cursor(kind: str, values: Sequence[Any]) -> str:
    payload = json.dumps({"k": kind, "v": list(values)}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> list[Any]:
    """Return the values stored by encode_cursor(kind, ...); raise InvalidCursorError."""
    problem = f"invalid cursor {cursor[:40]!r}: pass the next_cursor of a previous page unchanged"
    if not cursor or len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidCursorError(problem)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursorError(problem) from None
    if not isinstance(data, dict) or not isinstance(data.get("v"), list):
        raise InvalidCursorError(problem)
    if data.get("k") != kind:
        raise InvalidCursorError(f"{problem} (it belongs to another listing)")
    values: list[Any] = data["v"]
    return values


def encode_time_id_cursor(kind: str, time: datetime, last_id: str) -> str:
    """A keyset position of a newest-first listing ordered by (time, id)."""
    return encode_cursor(kind, [time.isoformat(), last_id])


def decode_time_id_cursor(kind: str, cursor: str) -> tuple[datetime, str]:
    """The (time, id) position of `encode_time_id_cursor`; InvalidCursorError otherwise."""
    values = decode_cursor(kind, cursor)
    problem = f"invalid cursor {cursor[:40]!r}: malformed position"
    try:
        time_raw, last_id = values
        time = datetime.fromisoformat(time_raw)
    except (TypeError, ValueError):
        raise InvalidCursorError(problem) from None
    if not isinstance(last_id, str) or time.tzinfo is None:
        raise InvalidCursorError(problem)
    return time, last_id
