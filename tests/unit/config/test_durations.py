from __future__ import annotations

from datetime import timedelta

import pytest

from shiplane.config import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0),
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1d2h3m4s", 93784),
        (" 90s ", 90),
    ],
)
def test_parses_to_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_timedelta_is_accepted_for_python_callers() -> None:
    assert parse_duration(timedelta(minutes=2)) == 120


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (30, "a duration needs a unit: write '30s' for 30 seconds"),
        ("", "'' is not a duration"),
        ("1x", "'1x' is not a duration"),
        ("30m1h", "'30m1h' is not a duration"),
        ("1h1h", "'1h1h' is not a duration"),
        ("-5m", "'-5m' is not a duration"),
        ("1.5h", "'1.5h' is not a duration"),
        ("h", "'h' is not a duration"),
        (True, "expected a duration"),
        (None, "got nothing (null)"),
    ],
)
def test_rejects_garbage_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (5400, "1h30m"), (90061, "1d1h1m1s")]
)
def test_format_round_trips(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_format_refuses_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(-1)
