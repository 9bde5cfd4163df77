from __future__ import annotations

import base64

import pytest

from shiplane.domain.pagination import InvalidCursorError, decode_cursor, encode_cursor


def test_round_trip_and_opaque() -> None:
    cursor = encode_cursor("audit", [123, "2026-01-01T00:00:00+00:00"])
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor("audit", cursor) == [123, "2026-01-01T00:00:00+00:00"]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not-base64-json",
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b'{"k":"audit"}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "a" * 5000,
    ],
)
def test_bad_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        decode_cursor("audit", cursor)


def test_cursor_of_another_listing_is_rejected() -> None:
    with pytest.raises(InvalidCursorError, match="another listing"):
        decode_cursor("audit", encode_cursor("releases", [1]))


def test_invalid_cursor_is_value_error() -> None:
    assert issubclass(InvalidCursorError, ValueError)


def test_positions_round_trip_and_reject_malformed_values() -> None:
    from datetime import UTC, datetime

    import pytest

    from shiplane.domain.pagination import (
        InvalidCursorError,
        decode_position,
        encode_cursor,
        encode_position,
    )

    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    time_id = (datetime, str)
    assert decode_position("runs", encode_position("runs", [at, "dep-1"]), time_id) == [
        at,
        "dep-1",
    ]
    assert decode_position("audit", encode_position("audit", [41]), (int,)) == [41]
    for values in (["not a time", "x"], [at.isoformat(), 7], ["2026-11-26T12:00:00", "x"], [1]):
        with pytest.raises(InvalidCursorError, match="malformed position"):
            decode_position("runs", encode_cursor("runs", values), time_id)
    for values in ([True], ["7"], [1, 2]):
        with pytest.raises(InvalidCursorError, match="malformed position"):
            decode_position("audit", encode_cursor("audit", values), (int,))
    with pytest.raises(InvalidCursorError, match="another listing"):
        decode_position("runs", encode_position("promotions", [at, "p"]), time_id)
