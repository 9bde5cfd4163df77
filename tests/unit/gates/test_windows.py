from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from shiplane.domain.clock import ManualClock
from shiplane.domain.windows import (
    Calendar,
    CalendarRule,
    describe_days,
    format_local,
    is_open,
    next_closing,
    next_opening,
    status,
)
from shiplane.gates import Outcome
from shiplane.gates.window import WINDOW, calendar

from .factory import context, project

WEEKDAYS = frozenset(range(5))
BUSINESS = Calendar(
    "business-hours",
    allow=(CalendarRule(days=WEEKDAYS, start_time=time(9), end_time=time(17)),),
    timezone="Europe/Berlin",
)
NIGHTS = Calendar(
    "nights",
    allow=(CalendarRule(days=frozenset({4}), start_time=time(22), end_time=time(6)),),
    timezone="UTC",
)
YEAR_END = Calendar(
    "year-end-freeze", deny=(CalendarRule(first_day=date(2026, 12, 20), last_day=date(2027, 1, 3)),)
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_business_hours_in_berlin_winter_and_summer():
    # Winter: CET = UTC+1, so 09:00 Berlin is 08:00 UTC.
    assert not is_open([BUSINESS], utc(2026, 11, 30, 7, 59))
    assert is_open([BUSINESS], utc(2026, 11, 30, 8, 0))
    assert is_open([BUSINESS], utc(2026, 11, 30, 15, 59))
    assert not is_open([BUSINESS], utc(2026, 11, 30, 16, 0))  # 17:00 is the exclusive end
    # Summer: CEST = UTC+2.
    assert is_open([BUSINESS], utc(2026, 7, 1, 7, 0))
    assert not is_open([BUSINESS], utc(2026, 7, 1, 15, 0))
    assert not is_open([BUSINESS], utc(2026, 11, 28, 10, 0))  # Saturday


def test_next_opening_after_friday_evening_is_monday_morning():
    friday_evening = utc(2026, 11, 27, 17, 30)
    opening = next_opening([BUSINESS], friday_evening)
    assert opening == utc(2026, 11, 30, 8, 0)
    assert format_local(opening, "Europe/Berlin") == "Mon 2026-11-30 09:00 CET"
    assert next_opening([BUSINESS], utc(2026, 11, 30, 9, 0)) == utc(2026, 11, 30, 9, 0)


def test_window_across_midnight_belongs_to_the_day_it_starts():
    assert is_open([NIGHTS], utc(2026, 11, 27, 22, 0))  # Friday 22:00
    assert is_open([NIGHTS], utc(2026, 11, 28, 5, 59))  # Saturday morning, Friday's window
    assert not is_open([NIGHTS], utc(2026, 11, 28, 6, 0))
    assert not is_open([NIGHTS], utc(2026, 11, 28, 23, 0))  # Saturday night: not listed
    assert not is_open([NIGHTS], utc(2026, 11, 27, 3, 0))  # Friday morning is Thursday's
    assert next_opening([NIGHTS], utc(2026, 11, 28, 6, 0)) == utc(2026, 12, 4, 22, 0)
    assert next_closing([NIGHTS], utc(2026, 11, 27, 23, 0)) == utc(2026, 11, 28, 6, 0)


def test_dst_spring_forward_in_berlin():
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    early = Calendar("early", allow=(CalendarRule(start_time=time(2, 30), end_time=time(4)),),
                     timezone="Europe/Berlin")  # fmt: skip
    # 02:30 does not exist that day: the window opens the moment the clock reads 03:00.
    assert next_opening([early], utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 0)
    assert next_closing([early], utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 29, 2, 0)  # 04:00 CEST
    # The day after, wall time is back to normal: 02:30 CEST = 00:30 UTC.
    assert next_opening([early], utc(2026, 3, 29, 12)) == utc(2026, 3, 30, 0, 30)
    # Business hours on the Monday after the change start at 07:00 UTC.
    assert next_opening([BUSINESS], utc(2026, 3, 27, 17)) == utc(2026, 3, 30, 7, 0)


def test_dst_fall_back_in_berlin():
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:xx happens twice.
    late = Calendar("late", allow=(CalendarRule(start_time=time(1), end_time=time(2, 30)),),
                    timezone="Europe/Berlin")  # fmt: skip
    assert next_closing([late], utc(2026, 10, 24, 23, 30)) == utc(2026, 10, 25, 0, 30)
    # The second pass through 02:00-02:30 (CET) is inside again.
    assert next_opening([late], utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 1, 0)
    assert next_closing([late], utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 25, 1, 30)
    assert format_local(utc(2026, 10, 25, 1, 0), "Europe/Berlin") == "Sun 2026-10-25 02:00 CET"


def test_deny_wins_over_allow():
    at = utc(2026, 12, 21, 10)  # a Monday inside the freeze, inside business hours
    verdict = status([BUSINESS, YEAR_END], at)
    assert not verdict.open and verdict.denied_by == (YEAR_END,) and verdict.outside == ()
    assert next_opening([BUSINESS, YEAR_END], at) == utc(2027, 1, 4, 8, 0)  # Mon after, 09:00


def test_date_range_deny_is_inclusive_and_alone_allows_the_rest():
    assert is_open([YEAR_END], utc(2026, 12, 19, 23, 59))
    assert not is_open([YEAR_END], utc(2026, 12, 20, 0, 0))
    assert not is_open([YEAR_END], utc(2027, 1, 3, 23, 59))
    assert next_opening([YEAR_END], utc(2026, 12, 25)) == utc(2027, 1, 4)


def test_several_allow_windows_are_a_union():
    weekend = Calendar("weekend", allow=(CalendarRule(days=frozenset({5, 6})),))
    assert is_open([BUSINESS, weekend], utc(2026, 11, 28, 3))
    assert is_open([BUSINESS, weekend], utc(2026, 11, 30, 9))
    verdict = status([BUSINESS, weekend], utc(2026, 11, 30, 20))
    assert not verdict.open and verdict.outside == (BUSINESS, weekend)


def test_a_window_that_never_opens_again():
    past = Calendar(
        "past", allow=(CalendarRule(first_day=date(2020, 1, 1), last_day=date(2020, 1, 2)),)
    )
    assert next_opening([past], utc(2026, 1, 1)) is None
    always = Calendar("always", deny=(CalendarRule(days=frozenset(range(7))),))
    assert next_opening([always], utc(2026, 1, 1), horizon=timedelta(days=30)) is None


def test_next_opening_is_exact_against_a_minute_by_minute_scan():
    calendars = [BUSINESS, NIGHTS, YEAR_END]
    start = utc(2026, 12, 18, 13, 7)
    found = next_opening(calendars, utc(2026, 12, 18, 16, 30))
    probe = utc(2026, 12, 18, 16, 30)
    while not is_open(calendars, probe):
        probe += timedelta(minutes=1)
    assert found == probe == utc(2026, 12, 18, 22, 0)
    assert is_open(calendars, start)


def test_descriptions():
    assert describe_days([0, 1, 2, 3, 4]) == "Mon-Fri"
    assert describe_days([5, 6]) == "Sat,Sun"
    assert describe_days([0, 2, 3, 4, 6]) == "Mon,Wed-Fri,Sun"
    assert BUSINESS.describe() == "Mon-Fri 09:00-17:00 Europe/Berlin"
    assert YEAR_END.describe() == "2026-12-20 to 2027-01-03 UTC"


def test_rule_validation():
    with pytest.raises(ValueError, match="go together"):
        CalendarRule(start_time=time(9))
    with pytest.raises(ValueError, match="empty time range"):
        CalendarRule(start_time=time(9), end_time=time(9))
    with pytest.raises(ValueError, match="weekdays"):
        CalendarRule(days=frozenset({7}))


# --- the gate, from shiplane.yaml --------------------------------------------------------

PROJECT = project(
    {"prod": {"windows": ["business-hours", "year-end-freeze"]}, "dev": {}},
    windows={
        "business-hours": {
            "allow": {"days": "Mon-Fri", "from": "09:00", "to": "17:00"},
            "timezone": "Europe/Berlin",
        },
        "year-end-freeze": {"deny": {"from": "2026-12-20", "to": "2027-01-03"}},
    },
)


def gate_at(at: datetime):
    config = WINDOW.configure(PROJECT, "prod")
    assert config is not None
    return WINDOW.evaluate(context(PROJECT, clock=ManualClock(at)), config)


def test_config_windows_become_calendars():
    assert WINDOW.configure(PROJECT, "dev") is None
    assert calendar("business-hours", PROJECT.windows["business-hours"]) == BUSINESS
    assert calendar("year-end-freeze", PROJECT.windows["year-end-freeze"]) == YEAR_END


def test_gate_waits_outside_with_the_exact_next_opening():
    result = gate_at(utc(2026, 11, 27, 17, 30))
    assert result.outcome == Outcome.WAIT
    assert result.reason == (
        "outside window business-hours (Mon-Fri 09:00-17:00 Europe/Berlin); "
        "opens Mon 2026-11-30 09:00 CET"
    )
    assert result.next_check_at == utc(2026, 11, 30, 8, 0)
    assert result.unblock_hint == "nothing to do: it starts by itself when the window opens"


def test_gate_passes_inside_and_waits_in_the_year_end_freeze():
    inside = gate_at(utc(2026, 11, 30, 9, 0))
    assert inside.outcome == Outcome.PASS
    assert inside.reason == "inside window business-hours (Mon-Fri 09:00-17:00 Europe/Berlin)"
    frozen = gate_at(utc(2026, 12, 21, 10))
    assert frozen.outcome == Outcome.WAIT
    assert frozen.reason == (
        "inside deny window year-end-freeze (2026-12-20 to 2027-01-03 UTC); "
        "opens Mon 2027-01-04 09:00 CET"
    )
    assert frozen.next_check_at == utc(2027, 1, 4, 8, 0)


def test_gate_says_when_a_window_never_opens_within_a_year():
    proj = project(
        {"prod": {"windows": ["gone"]}},
        windows={"gone": {"allow": {"from": "2020-01-01", "to": "2020-01-02"}}},
    )
    config = WINDOW.configure(proj, "prod")
    assert config is not None
    result = WINDOW.evaluate(context(proj, clock=ManualClock(utc(2026, 1, 1))), config)
    assert result.outcome == Outcome.WAIT and result.next_check_at is None
    assert result.reason == (
        "outside window gone (2020-01-01 to 2020-01-02 UTC); does not open within the next 366 days"
    )
    assert "change the environment's `windows`" in result.unblock_hint
