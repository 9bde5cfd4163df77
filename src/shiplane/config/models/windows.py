"""`windows`: when deploying is allowed or denied."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from shiplane.config import values
from shiplane.config.models.base import (
    ConfigModel,
    list_of_rules,
)

Days = Annotated[
    tuple[int, ...],
    BeforeValidator(values.parse_days),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": values.DAYS_PATTERN},
                {"type": "array", "items": {"type": "string"}},
            ],
            "description": "Days such as 'Mon-Fri', 'Sat,Sun' or 'Mon-Wed,Fri'.",
        }
    ),
]

TimeOrDate = Annotated[
    time | date,
    BeforeValidator(values.parse_time_or_date),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [{"pattern": values.TIME_PATTERN}, {"pattern": values.DATE_PATTERN}],
            "description": "A time of day 'HH:MM' or a date 'YYYY-MM-DD'.",
        }
    ),
]


class WindowRule(ConfigModel):
    """A period: days of the week, a time range within a day, and/or a date range."""

    days: Days | None = None
    """Days of the week (Mon=0 ... Sun=6 once parsed); every day when omitted."""
    from_: TimeOrDate | None = Field(default=None, alias="from")
    """Start: 'HH:MM' (daily time range) or 'YYYY-MM-DD' (date range, inclusive)."""
    to: TimeOrDate | None = None
    """End: same kind as `from`. A time range may cross midnight (22:00 to 06:00)."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.days is None and self.from_ is None and self.to is None:
            raise ValueError("a window rule needs 'days', 'from'/'to', or both")
        if (self.from_ is None) != (self.to is None):
            raise ValueError("'from' and 'to' go together: give both or neither")
        if self.from_ is not None and self.to is not None:
            if isinstance(self.from_, time) != isinstance(self.to, time):
                raise ValueError("'from' and 'to' must both be times (HH:MM) or both dates")
            if isinstance(self.from_, time) and self.from_ == self.to:
                raise ValueError("'from' and 'to' are the same time; the window would be empty")
            start, end = self.from_, self.to
            if isinstance(start, date) and isinstance(end, date) and start > end:
                raise ValueError(f"'from' ({self.from_}) is after 'to' ({self.to})")
        return self

    @property
    def is_date_range(self) -> bool:
        return self.from_ is not None and not isinstance(self.from_, time)


class WindowConfig(ConfigModel):
    """When deploying is allowed (`allow`) or forbidden (`deny`), in a time zone."""

    allow: Annotated[tuple[WindowRule, ...], BeforeValidator(list_of_rules)] = ()
    """Deploying is allowed only inside these periods (if any are given)."""
    deny: Annotated[tuple[WindowRule, ...], BeforeValidator(list_of_rules)] = ()
    """Deploying is never allowed inside these periods."""
    timezone: Annotated[StrictStr, AfterValidator(values.check_time_zone)] = "UTC"
    """IANA time zone the days and times are read in."""

    @model_validator(mode="after")
    def _has_rules(self) -> Self:
        if not self.allow and not self.deny:
            raise ValueError("a window needs 'allow', 'deny' or both")
        return self

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
