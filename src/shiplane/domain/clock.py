"""Time as an injected dependency.

Gates, windows, soak and approval expiry all depend on "now". Pure code never reads the
wall clock itself: it receives a `Clock`, so tests move time by hand instead of sleeping
and the engine decides where time comes from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that says what time it is: an aware datetime in UTC."""

    def now(self) -> datetime: ...


def ensure_utc(value: datetime) -> datetime:
    """`value` converted to UTC; naive datetimes are refused because their zone is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} (give a time zone, e.g. UTC)")
    return value.astimezone(UTC)


class SystemClock:
    """The real clock, for the engine; pure code only ever sees the `Clock` protocol."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at


class ManualClock:
    """A clock tests move by hand: `advance(timedelta(minutes=30))` or `set(instant)`."""

    def __init__(self, start: datetime) -> None:
        self._at = ensure_utc(start)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._at += delta
        return self._at

    def set(self, at: datetime) -> datetime:
        self._at = ensure_utc(at)
        return self._at
