"""Validators for single values: names, paths, images, URLs, time zones, days and times.

Each raises ValueError with a message written for the person editing the file; the
loader turns it into a located problem.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, time
from functools import cache
from pathlib import PurePosixPath

from shiplane.domain.suggest import closest, describe

# Names become directory names (`envs/<env>/<app>/`), label values and parts of
# Kubernetes object names, so they follow the DNS label rule.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_NAME = re.compile(NAME_PATTERN)
_NAME_RULE = (
    "use lowercase letters, digits and '-', start and end with a letter or digit, "
    "at most 63 characters"
)

_REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REPOSITORY_PATTERN = (
    rf"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?{_REPO_COMPONENT}(?:/{_REPO_COMPONENT})*$"
)
_IMAGE_REPOSITORY = re.compile(IMAGE_REPOSITORY_PATTERN)

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS_PATTERN = r"^[A-Za-z]+(-[A-Za-z]+)?(,\s*[A-Za-z]+(-[A-Za-z]+)?)*$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME = re.compile(TIME_PATTERN)
_DATE = re.compile(DATE_PATTERN)


def check_name(value: str) -> str:
    """A name of an environment, app, cluster, check, window or condition."""
    if not _NAME.match(value):
        raise ValueError(f"{describe(value)} is not a valid name: {_NAME_RULE}")
    return value


def check_namespace(value: str) -> str:
    """A Kubernetes namespace (an RFC 1123 label)."""
    if not _NAME.match(value):
        raise ValueError(f"{describe(value)} is not a valid Kubernetes namespace: {_NAME_RULE}")
    return value


def check_non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def check_repo_path(value: str) -> str:
    """A directory inside the GitOps repository, relative to its root."""
    path = PurePosixPath(value)
    if not value.strip():
        raise ValueError("must not be empty")
    if path.is_absolute() or "\\" in value:
        raise ValueError(f"{describe(value)} must be a path relative to the repository root")
    if ".." in path.parts:
        raise ValueError(f"{describe(value)} must stay inside the repository (no '..')")
    return value


def check_image_repository(value: str) -> str:
    """An image repository such as `registry.example/shop/checkout`: no tag, no digest."""
    if "@" in value:
        raise ValueError(
            f"{describe(value)} includes a digest; list the repository only "
            "(releases pick the digest)"
        )
    if ":" in value.rsplit("/", 1)[-1]:
        raise ValueError(
            f"{describe(value)} includes a tag; list the repository only (releases pick the tag)"
        )
    if not _IMAGE_REPOSITORY.match(value):
        raise ValueError(
            f"{describe(value)} is not a valid image repository "
            "(e.g. 'registry.example/shop/checkout')"
        )
    return value


def check_url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest or rest.startswith("/"):
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"{describe(value)} is not a URL starting with {allowed}")
    return value


def check_chart_repository(value: str) -> str:
    return check_url(value, ("oci", "https", "http"))


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str) -> str:
    """An IANA time zone name known to zoneinfo (tzdata is a dependency)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        match = closest(value, _time_zones())
        hint = f"; did you mean '{match}'?" if match else " (use an IANA name like 'Europe/Berlin')"
        raise ValueError(f"unknown time zone {describe(value)}{hint}") from None
    return value


def _weekday(token: str, whole: str) -> int:
    key = token.strip().lower()
    if key in _WEEKDAYS:
        return _WEEKDAYS.index(key)
    if key in _FULL_WEEKDAYS:
        return _FULL_WEEKDAYS.index(key)
    # Compare with the spelling the user chose: "Fry" should suggest "Fri", not "Friday".
    match = closest(key, _WEEKDAYS if len(key) <= 3 else _FULL_WEEKDAYS)
    hint = f"; did you mean '{match.capitalize()}'?" if match else ""
    raise ValueError(
        f"unknown day {describe(token.strip())} in {describe(whole)} "
        f"(use Mon, Tue, Wed, Thu, Fri, Sat, Sun){hint}"
    )


def parse_days(value: object) -> tuple[int, ...]:
    """`Mon-Fri`, `Sat,Sun`, `Mon-Wed,Fri` or a list of days -> sorted weekdays (Mon=0).

    A range may wrap around the week (`Fri-Mon`), as night-shift windows need.
    """
    if isinstance(value, tuple) and all(isinstance(d, int) for d in value):
        return value  # already parsed (a model built in Python)
    if isinstance(value, list) and all(isinstance(d, str) for d in value):
        value = ",".join(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected days such as 'Mon-Fri' or 'Sat,Sun', got {describe(value)}")
    days: set[int] = set()
    for part in value.split(","):
        first, dash, last = part.partition("-")
        start = _weekday(first, value)
        end = _weekday(last, value) if dash else start
        span = (end - start) % 7
        days.update((start + i) % 7 for i in range(span + 1))
    return tuple(sorted(days))


def parse_time_or_date(value: object) -> time | date:
    """`HH:MM` (a time of day) or `YYYY-MM-DD` (a calendar date)."""
    if isinstance(value, time | date):
        return value
    if isinstance(value, str) and _TIME.match(value):
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{describe(value)} is not a valid date: {exc}") from None
    raise ValueError(
        f"expected a time 'HH:MM' (00:00-23:59) or a date 'YYYY-MM-DD', got {describe(value)}"
    )
