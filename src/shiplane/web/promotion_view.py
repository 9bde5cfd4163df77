"""What the promotion page shows, read in one session: the promotion, its steps in
order (state changes, gate evaluations, deploy steps, finished checks), the last gate
evaluation, every check with its measurements (a chart for numbers, the HTTP responses,
the Job's logs), and the caller's actions from the engine's permission rules
(engine/promotions/permissions.py `allowed_actions`): the page decides nothing itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion_controls import Hold
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.permissions import (
    ACTIONS,
    Action,
    ActionCheck,
    Caller,
    allowed_actions,
)
from shiplane.engine.release_views import TRANSITION_PREFIX
from shiplane.store import promotion_controls, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord, StepRecord
from shiplane.store.records import ReleaseRecord
from shiplane.web.chart_svg import numeric_points, render_chart

OPEN_STATES = ("Pending", "Waiting", "Deploying", "Verifying")
NO_PROJECT = "this server has no project: start it with `shiplane serve --config FILE`"


@dataclass(frozen=True, slots=True)
class MeasurementRow:
    at: str
    value: str  # as shown (numbers plain, HTTP responses as status + body excerpt)
    outcome: str
    detail: str


@dataclass(frozen=True, slots=True)
class CheckView:
    name: str
    kind: str
    outcome: str
    reason: str
    measurements: tuple[MeasurementRow, ...]
    chart: str  # inline SVG ("" when the values are not numbers)
    logs: str | None
    resolution: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class PromotionView:
    promotion: PromotionRecord
    release: ReleaseRecord | None
    steps: tuple[StepRecord, ...]
    gates: tuple[dict[str, Any], ...]  # the last evaluation of every gate
    checks: tuple[CheckView, ...]
    actions: dict[Action, ActionCheck] = field(default_factory=dict)
    rollbacks: tuple[PromotionRecord, ...] = ()  # the rollbacks made for it, newest first
    holds: tuple[Hold, ...] = ()  # holds in force on its apps in its environment

    @property
    def running(self) -> bool:
        return self.promotion.state in OPEN_STATES

    @property
    def request_reason(self) -> str:
        return PromotionData.of(self.promotion).request_reason or ""

    def is_transition(self, step: StepRecord) -> bool:
        return step.name.startswith(TRANSITION_PREFIX)


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


def _shown(value: Any) -> str:
    if isinstance(value, dict):  # an HTTP check's response
        parts = [f"{k}: {value[k]}" for k in ("status", "url", "seconds") if k in value]
        if value.get("error"):
            parts.append(f"error: {value['error']}")
        if value.get("body"):
            parts.append(f"body: {str(value['body'])[:200]}")
        if not parts:  # a Job's counts and the like: every key
            parts = [f"{k}: {v}" for k, v in value.items()]
        return "; ".join(parts)
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


def check_view(name: str, result: dict[str, Any]) -> CheckView:
    """A check from its result (`CheckResult.to_json()`: a finished check's step, or the
    pending/final result in the verifier's state)."""
    raw = list(result.get("measurements") or [])
    rows = tuple(
        MeasurementRow(
            _when(str(m.get("time", ""))),
            _shown(m.get("value")),
            str(m.get("outcome", "")),
            str(m.get("detail", "")),
        )
        for m in raw
    )
    values = [(r.at, m.get("value"), r.outcome) for r, m in zip(rows, raw, strict=True)]
    points = numeric_points(values)
    kind = str(result.get("kind") or "")
    # A metric's values over time are worth a chart; a soak's seconds or a Job's counts
    # are read in the table.
    charted = kind == "prometheus" and len(points) == len(rows)
    return CheckView(
        name=name,
        kind=kind,
        outcome=str(result.get("outcome") or "running"),
        reason=str(result.get("reason") or ""),
        measurements=rows,
        chart=render_chart(points, title=f"check {name}") if charted else "",
        logs=result.get("logs"),
        resolution=result.get("resolution"),
    )


def _checks(record: PromotionRecord, steps: list[StepRecord]) -> tuple[CheckView, ...]:
    """Finished checks from their steps; the ones still running (or waiting for a person)
    from the verifier's state."""
    seen: dict[str, CheckView] = {}
    for step in steps:
        result = step.data.get("result") if step.name.startswith("check ") else None
        if isinstance(result, dict):
            name = step.name[len("check ") :]
            seen[name] = check_view(name, result)
    states = PromotionData.of(record).verify_state().get("checks") or {}
    for name, state in states.items():
        if name in seen or not isinstance(state, dict):
            continue
        result = state.get("final") or state.get("pending")
        if isinstance(result, dict):
            seen[name] = check_view(name, result)
        else:
            measurements = state.get("measurements") or []
            seen[name] = check_view(name, {"outcome": "running", "measurements": measurements})
    return tuple(seen.values())


def promotion_view(
    project: ProjectConfig | None,
    s: Session,
    record: PromotionRecord,
    caller: Caller,
    now: datetime,
) -> PromotionView:
    steps = store.list_steps(s, record.id)
    actions = allowed_actions(project, s, record, caller, now) if project is not None else {}
    if project is None:
        actions = {a: ActionCheck(False, NO_PROJECT) for a in ACTIONS}
    return PromotionView(
        promotion=record,
        release=releases.get_release(s, record.release_id),
        steps=tuple(steps),
        gates=tuple(PromotionData.of(record).gates or ()),
        checks=_checks(record, steps),
        actions=actions,
        rollbacks=tuple(store.rollbacks_of(s, record.id)),
        holds=tuple(
            h for h in promotion_controls.list_holds(s, record.environment) if h.app in record.apps
        ),
    )


__all__ = ["CheckView", "MeasurementRow", "PromotionView", "check_view", "promotion_view"]
