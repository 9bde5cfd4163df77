"""What the web shows of a progressive strategy (docs/strategies.md), read from the
promotion's `data.strategy` and its steps: per app the kind, the current step n/m, the
weight, what a pause waits for (a time, or a person), the analysis checks' results; the
steps that ended; and the short note of the matrix and pipeline cells (`canary 25%`, as
`shiplane status` prints it). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from shiplane.config.models.strategies import CanaryConfig
from shiplane.domain import canary
from shiplane.domain.errors import ShiplaneError
from shiplane.engine.promotions.strategy_plugins import config_of
from shiplane.store.promotions import PromotionRecord, StepRecord
from shiplane.web.promotion_view import CheckView, check_view

# The phases in which people may steer it (resume a pause, skip a step).
STEERABLE = ("steps",)
STEP_PREFIXES = ("canary", "blueGreen", "strategy")


@dataclass(frozen=True, slots=True)
class AppStrategyView:
    app: str
    kind: str
    summary: str
    done: bool
    step: int | None  # the current step, 1-based (None: not a stepped strategy, or done)
    total: int | None  # the number of steps
    current: str  # the current step in words (`setWeight 25`, `pause until resumed`)
    weight: int | None
    pause: str  # "" (not pausing), "until resumed", or "until <time>"
    analysis: tuple[CheckView, ...]


@dataclass(frozen=True, slots=True)
class StrategyView:
    phase: str
    summary: str
    apps: tuple[AppStrategyView, ...]
    steps: tuple[StepRecord, ...]  # the strategy's steps that ended, oldest first

    @property
    def steerable(self) -> bool:
        return self.phase in STEERABLE


def strategy_data(record: PromotionRecord) -> dict[str, Any] | None:
    data = record.data.get("strategy") if isinstance(record.data, dict) else None
    return data if isinstance(data, dict) else None


def strategy_notes(record: PromotionRecord) -> dict[str, str]:
    """Per app `canary 25%` while a strategy takes its steps or completes (as the API's
    matrix `strategy` and `shiplane status`); empty otherwise."""
    data = strategy_data(record)
    if data is None or data.get("phase") not in ("steps", "complete"):
        return {}
    apps = data.get("apps") or {}
    notes = {}
    for app, entry in apps.items():
        summary = str(entry.get("summary") or "") if isinstance(entry, dict) else ""
        if summary:
            notes[str(app)] = summary.split(" (", 1)[0]
    return notes


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def _analysis(state: Mapping[str, Any]) -> tuple[CheckView, ...]:
    """The analysis checks run so far: `{"<step index>/<check>": saved check state}`."""
    views = []
    for key, saved in (state.get("analysis") or {}).items():
        if not isinstance(saved, dict):
            continue
        index, _, check = str(key).partition("/")
        name = f"{check} (step {int(index) + 1})" if index.isdigit() else str(key)
        result = saved.get("final") or saved.get("pending")
        if not isinstance(result, dict):
            result = {"outcome": "running", "measurements": saved.get("measurements") or []}
        views.append(check_view(name, result))
    return tuple(views)


def _app_view(app: str, entry: Mapping[str, Any]) -> AppStrategyView:
    kind = str(entry.get("kind") or "")
    state: Mapping[str, Any] = entry.get("state") or {}
    weight = entry.get("weight")
    view = AppStrategyView(
        app=app,
        kind=kind,
        summary=str(entry.get("summary") or ""),
        done=bool(entry.get("done")),
        step=None,
        total=None,
        current="",
        weight=weight if isinstance(weight, int) else None,
        pause="",
        analysis=_analysis(state),
    )
    if kind != "canary":
        return view
    try:
        config = config_of(entry)
    except (ShiplaneError, ValidationError, KeyError):
        return view  # the summary says it in words
    if not isinstance(config, CanaryConfig):
        return view
    plan = config.plan()
    progress = canary.Progress.from_json(state.get("progress") or {})
    step = canary.current_step(plan, progress)
    pause = ""
    if isinstance(step, canary.Pause):
        if step.seconds is None:
            pause = "until resumed"
        elif progress.step_started_at is not None:
            until = progress.step_started_at + timedelta(seconds=step.seconds)
            pause = f"until {_when(until)}"
    return AppStrategyView(
        app=app,
        kind=kind,
        summary=view.summary,
        done=view.done,
        step=None if step is None else progress.step + 1,
        total=len(plan),
        current="" if step is None else canary.describe_step(step),
        weight=view.weight if view.weight is not None else progress.weight,
        pause=pause,
        analysis=view.analysis,
    )


def strategy_view(record: PromotionRecord, steps: Sequence[StepRecord]) -> StrategyView | None:
    """The strategy of `record`, or None when it has none (rolling)."""
    data = strategy_data(record)
    if data is None:
        return None
    apps = data.get("apps") or {}
    return StrategyView(
        phase=str(data.get("phase") or ""),
        summary=str(data.get("summary") or ""),
        apps=tuple(
            _app_view(str(app), entry) for app, entry in apps.items() if isinstance(entry, dict)
        ),
        steps=tuple(s for s in steps if s.name.startswith(STEP_PREFIXES) and s.ended_at),
    )


__all__ = [
    "AppStrategyView",
    "StrategyView",
    "strategy_data",
    "strategy_notes",
    "strategy_view",
]
