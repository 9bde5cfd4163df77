"""Gate `window`: deploy only inside allow windows and never inside deny windows.

The environment lists window names (`windows: [business-hours, year-end-freeze]`); each
is defined under top-level `windows:` with `allow` and/or `deny` rules and a time zone.
Outside, the gate waits with `next_check_at` = the exact next opening, so the promotion
starts by itself when the window opens. The calendar math is `shiplane.domain.windows`.
"""

from __future__ import annotations

from datetime import date, time

from pydantic import BaseModel, ConfigDict, Field

from shiplane.config.models import ProjectConfig, WindowConfig, WindowRule
from shiplane.domain.windows import (
    DEFAULT_HORIZON,
    Calendar,
    CalendarRule,
    format_local,
    next_opening,
    status,
)
from shiplane.gates.context import GateContext
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome


class WindowGateConfig(BaseModel):
    """The windows an environment lists, resolved by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows: dict[str, WindowConfig] = Field(default_factory=dict)


def calendar_rule(rule: WindowRule) -> CalendarRule:
    start, end = rule.from_, rule.to
    times = isinstance(start, time) and isinstance(end, time)
    dates = isinstance(start, date) and isinstance(end, date) and not times
    return CalendarRule(
        days=frozenset(rule.days) if rule.days is not None else None,
        start_time=start if times and isinstance(start, time) else None,
        end_time=end if times and isinstance(end, time) else None,
        first_day=start if dates and isinstance(start, date) else None,
        last_day=end if dates and isinstance(end, date) else None,
    )


def calendar(name: str, window: WindowConfig) -> Calendar:
    return Calendar(
        name=name,
        allow=tuple(calendar_rule(r) for r in window.allow),
        deny=tuple(calendar_rule(r) for r in window.deny),
        timezone=window.timezone,
    )


class WindowGate(Gate[WindowGateConfig]):
    """Allow and deny calendars in a time zone; deny wins."""

    name = "window"
    schema = WindowGateConfig

    def configure(self, project: ProjectConfig, environment: str) -> WindowGateConfig | None:
        names = project.environments[environment].windows
        if not names:
            return None
        return WindowGateConfig(windows={n: project.windows[n] for n in names})

    def evaluate(self, ctx: GateContext, config: WindowGateConfig) -> GateResult:
        now = ctx.now()
        calendars = [calendar(name, w) for name, w in config.windows.items()]
        verdict = status(calendars, now)
        inputs: dict[str, object] = {
            "now": now,
            "windows": {
                c.name: {
                    "allow": c.describe(c.allow) if c.allow else None,
                    "deny": c.describe(c.deny) if c.deny else None,
                }
                for c in calendars
            },
        }
        if verdict.open:
            inside = [c for c in calendars if c.allow and c.allows(now)]
            reason = (
                "inside window " + ", ".join(f"{c.name} ({c.describe(c.allow)})" for c in inside)
                if inside
                else "no deny window is active"
            )
            return GateResult(self.name, Outcome.PASS, reason, inputs)

        blocked = [f"inside deny window {c.name} ({c.describe(c.deny)})" for c in verdict.denied_by]
        if verdict.outside:
            word = "window" if len(verdict.outside) == 1 else "windows"
            blocked.append(
                f"outside {word} "
                + " and ".join(f"{c.name} ({c.describe(c.allow)})" for c in verdict.outside)
            )
        opening = next_opening(calendars, now)
        inputs["opens_at"] = opening
        if opening is None:
            days = DEFAULT_HORIZON.days
            when = f"does not open within the next {days} days"
            hint = "change the environment's `windows` (or the windows' rules) in shiplane.yaml"
        else:
            # Say the opening in the zone of the window people think in: an allow window's.
            allowing = tuple(c for c in calendars if c.allow)
            zone_of = (verdict.outside or allowing or verdict.denied_by)[0]
            when = f"opens {format_local(opening, zone_of.timezone)}"
            hint = "nothing to do: it starts by itself when the window opens"
        return GateResult(
            self.name,
            Outcome.WAIT,
            "; ".join(blocked) + f"; {when}",
            inputs,
            next_check_at=opening,
            unblock_hint=hint,
        )


WINDOW = register(WindowGate())
