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


PositionType = type[datetime] | type[str] | type[int]
"""What one value of a keyset position is: an aware datetime (written ISO 8601), a
string or an integer."""


def encode_position(kind: str, values: Sequence[datetime | str | int]) -> str:
    """A cursor holding a keyset position (datetimes written ISO 8601)."""
    return encode_cursor(kind, [v.isoformat() if isinstance(v, datetime) else v for v in values])


def decode_position(
    kind: str, cursor: str, types: Sequence[PositionType]
) -> list[datetime | str | int]:
    """The position `encode_position(kind, ...)` stored, each value checked against
    `types`; InvalidCursorError otherwise."""
    values = decode_cursor(kind, cursor)
    problem = f"invalid cursor {cursor[:40]!r}: malformed position"
    if len(values) != len(types):
        raise InvalidCursorError(problem)
    position: list[datetime | str | int] = []
    for value, kind_of in zip(values, types, strict=True):
        if kind_of is datetime:
            try:
                moment = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise InvalidCursorError(problem) from None
            if moment.tzinfo is None:
                raise InvalidCursorError(problem)
            position.append(moment)
        elif isinstance(value, kind_of) and not isinstance(value, bool):
            position.append(value)
        else:
            raise InvalidCursorError(problem)
    return position
