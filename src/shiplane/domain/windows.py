"""Deployment windows: allow and deny calendars in a time zone, and when they next open.

A window is read in wall-clock time of its IANA zone, so "Mon-Fri 09:00-17:00
Europe/Berlin" means 09:00 in Berlin in summer and winter alike. A time range that
crosses midnight (22:00-06:00) belongs to the day it starts on. Date ranges include both
ends. Across several windows, deny wins over allow, and when any allow rule exists the
instant must be inside one of them (the rule Argo CD sync windows follow).

`next_opening` is exact: `is_open` can only change when the wall clock crosses a rule
boundary (found by converting each boundary in both folds) or when the zone's offset
jumps (DST transitions, found by bisection), so checking those instants in order finds
the first opening without stepping through time minute by minute. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shiplane.domain.clock import ensure_utc

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_HORIZON = timedelta(days=366)
_CHUNK = timedelta(days=7)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CalendarRule:
    """A period: days of the week, a daily time range and/or an inclusive date range.

    Every part left out matches everything; `start_time`/`end_time` and
    `first_day`/`last_day` come in pairs.
    """

    days: frozenset[int] | None = None
    """Weekdays, Mon=0 ... Sun=6."""
    start_time: time | None = None
    end_time: time | None = None
    """Exclusive end; before `start_time` means the range ends on the next day."""
    first_day: date | None = None
    last_day: date | None = None
    """Inclusive end."""

    def __post_init__(self) -> None:
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("start_time and end_time go together")
        if (self.first_day is None) != (self.last_day is None):
            raise ValueError("first_day and last_day go together")
        if self.start_time is not None and self.start_time == self.end_time:
            raise ValueError("an empty time range (start_time == end_time)")
        if self.days is not None and not self.days <= set(range(7)):
            raise ValueError(f"weekdays are 0 (Mon) to 6 (Sun), got {sorted(self.days)}")

    def _day_ok(self, day: date) -> bool:
        if self.days is not None and day.weekday() not in self.days:
            return False
        return self.first_day is None or (
            self.last_day is not None and self.first_day <= day <= self.last_day
        )

    def matches(self, wall: datetime) -> bool:
        """Whether the naive wall-clock time `wall` is inside this rule."""
        day, clock = wall.date(), wall.time()
        if self.start_time is None or self.end_time is None:
            return self._day_ok(day)
        if self.start_time < self.end_time:
            return self.start_time <= clock < self.end_time and self._day_ok(day)
        # Overnight: the part after midnight belongs to the previous day's window.
        if clock >= self.start_time:
            return self._day_ok(day)
        return clock < self.end_time and self._day_ok(day - _ONE_DAY)

    def boundaries(self) -> set[time]:
        """Wall-clock times at which this rule can start or stop matching."""
        edges = {time(0, 0)}  # days and dates change at midnight
        if self.start_time is not None and self.end_time is not None:
            edges |= {self.start_time, self.end_time}
        return edges

    def describe(self) -> str:
        parts = []
        if self.days is not None and self.days != frozenset(range(7)):
            parts.append(describe_days(self.days))
        if self.start_time is not None and self.end_time is not None:
            parts.append(f"{self.start_time:%H:%M}-{self.end_time:%H:%M}")
        if self.first_day is not None and self.last_day is not None:
            parts.append(f"{self.first_day.isoformat()} to {self.last_day.isoformat()}")
        return " ".join(parts) or "every day"


@dataclass(frozen=True, slots=True)
class Calendar:
    """A named window: allow rules, deny rules, and the zone they are read in."""

    name: str
    allow: tuple[CalendarRule, ...] = ()
    deny: tuple[CalendarRule, ...] = ()
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def wall(self, at: datetime) -> datetime:
        return ensure_utc(at).astimezone(self.tz).replace(tzinfo=None)

    def allows(self, at: datetime) -> bool:
        wall = self.wall(at)
        return any(rule.matches(wall) for rule in self.allow)

    def denies(self, at: datetime) -> bool:
        wall = self.wall(at)
        return any(rule.matches(wall) for rule in self.deny)

    def describe(self, rules: Sequence[CalendarRule] | None = None) -> str:
        """`Mon-Fri 09:00-17:00 Europe/Berlin` (the allow rules, or the given ones)."""
        chosen = self.allow if rules is None else rules
        if rules is None and not chosen:
            chosen = self.deny
        return "; ".join(rule.describe() for rule in chosen) + f" {self.timezone}"


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """Whether deploying is allowed at an instant, and which windows say no."""

    open: bool
    denied_by: tuple[Calendar, ...]
    """Windows with a deny rule covering the instant."""
    outside: tuple[Calendar, ...]
    """Windows with allow rules, when the instant is inside none of them."""


def status(calendars: Sequence[Calendar], at: datetime) -> WindowStatus:
    denied = tuple(c for c in calendars if c.denies(at))
    allowing = [c for c in calendars if c.allow]
    inside_allow = not allowing or any(c.allows(at) for c in allowing)
    outside = () if inside_allow else tuple(allowing)
    return WindowStatus(open=not denied and inside_allow, denied_by=denied, outside=outside)


def is_open(calendars: Sequence[Calendar], at: datetime) -> bool:
    return status(calendars, at).open


def next_opening(
    calendars: Sequence[Calendar], at: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> datetime | None:
    """The first instant >= `at` when deploying is allowed; None if not within `horizon`."""
    at = ensure_utc(at)
    if is_open(calendars, at):
        return at
    end = at + horizon
    chunk_start = at
    while chunk_start < end:
        chunk_end = min(chunk_start + _CHUNK, end)
        for candidate in sorted(set(_candidates(calendars, chunk_start, chunk_end))):
            if is_open(calendars, candidate):
                return candidate
        chunk_start = chunk_end
    return None


def next_closing(
    calendars: Sequence[Calendar], at: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> datetime | None:
    """The first instant >= `at` when deploying stops being allowed; None if not soon."""
    at = ensure_utc(at)
    if not is_open(calendars, at):
        return at
    end = at + horizon
    chunk_start = at
    while chunk_start < end:
        chunk_end = min(chunk_start + _CHUNK, end)
        for candidate in sorted(set(_candidates(calendars, chunk_start, chunk_end))):
            if not is_open(calendars, candidate):
                return candidate
        chunk_start = chunk_end
    return None


def _candidates(
    calendars: Sequence[Calendar], start: datetime, end: datetime
) -> Iterator[datetime]:
    """Every instant in (start, end] at which some calendar's verdict can change."""
    for calendar in calendars:
        tz = calendar.tz
        edges: set[time] = set()
        for rule in (*calendar.allow, *calendar.deny):
            edges |= rule.boundaries()
        # Local dates around the span; a day either side covers any UTC offset.
        day = start.astimezone(tz).date() - _ONE_DAY
        last = end.astimezone(tz).date() + _ONE_DAY
        while day <= last:
            for edge in edges:
                naive = datetime.combine(day, edge)
                for fold in (0, 1):
                    instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
                    if start < instant <= end:
                        yield instant
            day += _ONE_DAY
        yield from (t for t in _offset_changes(tz, start, end) if start < t <= end)


def _offset_changes(tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """Instants in [start, end] where the zone's UTC offset changes (DST transitions)."""
    probe = start
    while probe < end:
        step_end = min(probe + _ONE_DAY, end)
        if probe.astimezone(tz).utcoffset() != step_end.astimezone(tz).utcoffset():
            yield _bisect_offset_change(tz, probe, step_end)
        probe = step_end


def _bisect_offset_change(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant in (low, high] with `high`'s offset, to the second."""
    target = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            middle = low + timedelta(seconds=1)
        if middle.astimezone(tz).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high


def describe_days(days: frozenset[int] | Sequence[int]) -> str:
    """`Mon-Fri`, `Sat,Sun`, `Mon,Wed-Fri`: runs of three or more days as ranges."""
    ordered = sorted(set(days))
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ",".join(parts)


def format_local(at: datetime, timezone: str) -> str:
    """`Mon 2026-11-30 09:00 CET`: an instant as people in that zone read it."""
    local = ensure_utc(at).astimezone(ZoneInfo(timezone))
    return local.strftime("%a %Y-%m-%d %H:%M %Z")
