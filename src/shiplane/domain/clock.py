"""Time as an injected dependency: the one `Clock` of Shiplane.

Gates, windows, soak, approval expiry and checks all depend on "now". Pure code never
reads the wall clock itself: it receives a `Clock`, so tests move time by hand instead of
sleeping and the engine decides where time comes from.

Some code also waits (checks run to completion, `run_to_completion`): `sleep_until`
waits by a clock, so a `ManualClock` jumps to the wake-up time instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import anyio


class Clock(Protocol):
    """Something that says what time it is: an aware datetime in UTC."""

    def now(self) -> datetime: ...


@runtime_checkable
class WaitingClock(Protocol):
    """A clock that also decides how a wait passes (a ManualClock jumps)."""

    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime) -> None: ...


def ensure_utc(value: datetime) -> datetime:
    """`value` converted to UTC; naive datetimes are refused because their zone is a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} (give a time zone, e.g. UTC)")
    return value.astimezone(UTC)


async def sleep_until(clock: Clock, when: datetime) -> None:
    """Wait until `when` by `clock`: a WaitingClock waits its own way; any other clock
    is taken to follow real time, so this sleeps the difference."""
    if isinstance(clock, WaitingClock):
        await clock.sleep_until(when)
        return
    delay = (ensure_utc(when) - clock.now()).total_seconds()
    await anyio.sleep(max(delay, 0))


class SystemClock:
    """The real clock, for the engine; pure code only ever sees the `Clock` protocol."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (ensure_utc(when) - self.now()).total_seconds()
        await anyio.sleep(max(delay, 0))


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at


DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class ManualClock:
    """A clock tests move by hand: `advance(timedelta(minutes=30))` (or seconds) or
    `set(instant)`. Waiting on it (`sleep_until`) jumps to the wake-up time at once."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._at = ensure_utc(start)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._at += delta
        return self._at

    def set(self, at: datetime) -> datetime:
        self._at = ensure_utc(at)
        return self._at

    async def sleep_until(self, when: datetime) -> None:
        when = ensure_utc(when)
        if when > self._at:
            self._at = when
        await anyio.lowlevel.checkpoint()
