"""A progressive strategy's start (engine/promotions/strategy.py): which apps take
steps, the deployer hook that hands each one's rendered objects to its strategy before
anything reaches git, and the record of the start. Shared by the push path (strategy.py,
at the commit) and pull-request mode (at the proposal, and after the merge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy_plugins import config_of, plugin_of, summary_of
from shiplane.engine.promotions.transitions import get, save
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.strategies import STRATEGIES

S = PromotionState


def progressive_apps(project: ProjectConfig, p: Promotion) -> dict[str, Any]:
    """The promotion's apps whose strategy is not `rolling` (none for a rollback)."""
    if p.kind == "rollback":
        return {}
    out: dict[str, Any] = {}
    for app in p.apps:
        config = project.strategy_for(p.environment, app)
        if STRATEGIES.get(config.kind).plugin.progressive:
            out[app] = config
    return out


def strategy_inspector(
    project: ProjectConfig, p: Promotion
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The deployer's `inspect` hook that gives each progressive app's rendered objects
    to its strategy (`start`, which refuses what does not fit), and the dict it fills
    with each app's starting entry (kind, config, state, summary)."""
    configs = progressive_apps(project, p)
    started: dict[str, dict[str, Any]] = {}

    def inspect(app: str, objects: Sequence[Mapping[str, Any]]) -> str | None:
        config = configs.get(app)
        if config is None:
            return "rolling"
        state = STRATEGIES.get(config.kind).plugin.start(config.spec, app, objects)
        entry = {
            "kind": config.kind,
            "config": config.spec.model_dump(mode="json", by_alias=True),
            "state": state,
        }
        entry["summary"] = plugin_of(entry).summary(config_of(entry), state)
        started[app] = entry
        return str(config.kind)

    return inspect, started


def begin_steps(
    rt: Runtime,
    s: Session,
    promotion_id: str,
    commit: str,
    started: Mapping[str, dict[str, Any]],
    *,
    merged: bool = False,
) -> PromotionRecord:
    """Record the strategy's start at `commit` (phase steps, due now). `merged`: pull-
    request mode, where `commit` is the merge commit the completion syncs."""
    current = get(s, promotion_id)
    if current.state != S.DEPLOYING.value:
        return current
    data: dict[str, Any] = {"phase": "steps", "commit": commit, "apps": dict(started)}
    if merged:
        data["merged"] = True
    data["summary"] = summary_of(data)
    now = rt.now()
    names = ", ".join(f"{app} {e['kind']}" for app, e in started.items())
    what = "merged as" if merged else "committed"
    store.add_step(
        s,
        promotion_id,
        Step("strategy", now, now, "succeeded", f"{what} {commit[:12]}; {names}"),
    )
    return save(
        rt,
        s,
        current.domain(),
        reason=f"{what} {commit[:12]}; {data['summary']}",
        data=PromotionData.of(current).but(strategy=data),
        next_check_at=now,
    )
