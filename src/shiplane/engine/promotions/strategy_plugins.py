"""What the progressive path (strategy.py) and its requests (strategy_requests.py) share:
a strategy's plugin and kept configuration from its entry in `data.strategy`, the
context of a round, and the removal of what the strategies added."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import BaseModel

from shiplane.config.models.base import STORED
from shiplane.domain.promotion import Promotion
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy_checks import analyser
from shiplane.store.records import ReleaseRecord
from shiplane.strategies import (
    STRATEGIES,
    Strategy,
    StrategyContext,
)

log = structlog.get_logger(__name__)


def plugin_of(entry: Mapping[str, Any]) -> Strategy:
    return STRATEGIES.get(str(entry["kind"])).plugin


def config_of(entry: Mapping[str, Any]) -> BaseModel:
    """The strategy's configuration as the promotion started with it."""
    schema = STRATEGIES.get(str(entry["kind"])).schema
    return schema.model_validate(entry.get("config") or {}, context=STORED)


def kinds(apps: Mapping[str, Mapping[str, Any]]) -> str:
    return " and ".join(sorted({str(e["kind"]) for e in apps.values()})) or "strategy"


def summary_of(data: Mapping[str, Any]) -> str:
    apps = data.get("apps") or {}
    parts = [f"{app}: {e.get('summary', e.get('kind'))}" for app, e in apps.items()]
    return "; ".join(parts) if len(parts) > 1 else (parts[0].split(": ", 1)[1] if parts else "")


def context(
    rt: Runtime, p: Promotion, app: str, entry: Mapping[str, Any], release: ReleaseRecord
) -> StrategyContext:
    env = rt.project.require_environment(p.environment)
    handle = rt.clusters.for_environment(p.environment)
    return StrategyContext(
        environment=p.environment,
        namespace=env.namespace,
        app=app,
        config=config_of(entry),
        client=handle.client,
        clock=rt.clock,
        run_id=p.id,
        analyse=analyser(rt, p, app, handle, release),
    )


async def abort_all(
    rt: Runtime, p: Promotion, apps: Mapping[str, Mapping[str, Any]], release: ReleaseRecord
) -> str:
    done: list[str] = []
    for app, entry in apps.items():
        ctx = context(rt, p, app, entry, release)
        try:
            done.append(await plugin_of(entry).abort(ctx, dict(entry["state"])))
        except Exception as exc:  # the others still go; say what is left
            log.exception("strategy.abort_failed", promotion=p.id, app=app)
            done.append(f"{app}: could not remove its objects: {exc}")
    return "; ".join(done)
