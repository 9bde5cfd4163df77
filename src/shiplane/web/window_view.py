"""An environment's deployment windows as the pipeline shows them: open or closed now,
and when that changes. The calendars are the window gate's own (`gates.window.calendar`)
and the arithmetic is `domain.windows`, so the page says what the gate will decide; the
gate still decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shiplane.config.models import ProjectConfig
from shiplane.domain.windows import (
    DEFAULT_HORIZON,
    format_local,
    next_closing,
    next_opening,
    status,
)
from shiplane.gates.window import calendar


@dataclass(frozen=True)
class WindowState:
    open: bool
    text: str  # e.g. "closed (outside business-hours); opens Mon 2026-12-07 09:00 CET"


def window_state(project: ProjectConfig, environment: str, now: datetime) -> WindowState | None:
    """None when the environment lists no windows."""
    names = project.environments[environment].windows
    if not names:
        return None
    calendars = [calendar(name, project.windows[name]) for name in names]
    verdict = status(calendars, now)
    zone = next((c for c in calendars if c.allow), calendars[0]).timezone
    if verdict.open:
        closing = next_closing(calendars, now)
        until = f"; closes {format_local(closing, zone)}" if closing is not None else ""
        return WindowState(True, f"open{until}")
    why = [f"inside {c.name}" for c in verdict.denied_by]
    why += [f"outside {c.name}" for c in verdict.outside]
    opening = next_opening(calendars, now)
    when = (
        f"opens {format_local(opening, zone)}"
        if opening is not None
        else f"does not open within {DEFAULT_HORIZON.days} days"
    )
    return WindowState(False, f"closed ({', '.join(why)}); {when}")
