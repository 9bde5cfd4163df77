"""Durations written as `30s`, `5m`, `1h30m` or `2d`, parsed to whole seconds.

A small strict parser instead of a library: config durations are coarse, and a bare
number is rejected on purpose because `soak: 30` could mean seconds or minutes.
"""

from __future__ import annotations

import re
from datetime import timedelta

from shiplane.domain.suggest import describe

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Units in descending order, each at most once: `1h30m` yes, `30m1h` or `1h1h` no.
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")

DURATION_PATTERN = r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
DURATION_HELP = "a number with a unit (s, m, h or d) such as '30s', '5m', '1h30m' or '2d'"


def parse_duration(value: object) -> int:
    """Parse a duration to seconds; raise ValueError with a message meant for users.

    `timedelta` values are accepted so that code building configs in Python needs no
    string round trip.
    """
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"a duration needs a unit: write '{value}s' for {value} seconds")
    if not isinstance(value, str):
        raise ValueError(f"expected a duration: {DURATION_HELP}; got {describe(value)}")
    match = _DURATION.fullmatch(value.strip())
    if not value.strip() or match is None:
        raise ValueError(f"{describe(value)} is not a duration; use {DURATION_HELP}")
    parts = match.groups()
    return sum(int(n) * s for n, s in zip(parts, _UNIT_SECONDS.values(), strict=True) if n)


def format_duration(seconds: int) -> str:
    """The shortest duration text for `seconds` (`5400` -> `1h30m`, `0` -> `0s`)."""
    if seconds < 0:
        raise ValueError("durations are never negative")
    out = ""
    rest = seconds
    for unit, size in _UNIT_SECONDS.items():
        count, rest = divmod(rest, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"
