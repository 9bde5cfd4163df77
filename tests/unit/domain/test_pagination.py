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
