"""People's requests to a progressive strategy (resume, skip-step), the removal of its
objects after an abort, and the sweep at start of what a killed process left
(docs/strategies.md)."""

from __future__ import annotations

from functools import partial

import structlog
from sqlalchemy.orm import Session

from shiplane.domain.errors import ConflictError
from shiplane.domain.promotion import (
    PromotionState,
    Step,
)
from shiplane.engine.promotions.model import Actor, PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy import RUNNING_PHASES, in_progress
from shiplane.engine.promotions.strategy_plugins import (
    abort_all,
    config_of,
    kinds,
    plugin_of,
)
from shiplane.engine.promotions.transitions import get, save
from shiplane.store import audit, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.strategies import (
    STRATEGIES,
    StrategyRequestError,
)

log = structlog.get_logger(__name__)
S = PromotionState


async def abort_after(rt: Runtime, record: PromotionRecord) -> None:
    """After a promotion left Deploying by a request (abort): remove what its strategies
    added. Safe to repeat, and a no-op for a promotion without a strategy in progress."""
    data = PromotionData.of(record).strategy or {}
    if data.get("phase") not in RUNNING_PHASES:
        return
    release = await rt.read(lambda s: releases.get_release(s, record.release_id))
    assert release is not None
    apps = {a: dict(e) for a, e in data["apps"].items()}
    removed = await abort_all(rt, record.domain(), apps, release)

    def write(s: Session) -> None:
        current = get(s, record.id)
        strategy = dict(PromotionData.of(current).strategy or {})
        strategy["phase"] = "aborted"
        strategy["summary"] = f"{kinds(apps)} aborted: {removed}"
        now = rt.now()
        store.add_step(s, record.id, Step("strategy aborted", now, now, "succeeded", removed))
        save(rt, s, current.domain(), data=PromotionData.of(current).but(strategy=strategy))

    await rt.write(write)


async def sweep_leftovers(rt: Runtime) -> list[str]:
    """Remove what strategies added for apps no promotion is moving now: a process killed
    between an abort and the removal leaves a canary behind, and nothing else would take
    it away before the app's next canary. Run at start, in the background; every error is
    logged and skipped (a cluster that does not answer is tried at the next start)."""
    removed: list[str] = []
    project = rt.project
    for environment, env in project.environments.items():
        try:
            handle = rt.clusters.for_environment(environment)
            for registration in STRATEGIES:
                plugin = registration.plugin
                found = await plugin.leftovers(handle.client, env.namespace)
                for owner, names in found.items():
                    if not owner.startswith(f"{environment}/"):
                        continue  # another environment sharing the namespace: its own
                    if await rt.read(partial(_moving, environment=environment, owner=owner)):
                        continue
                    await plugin.remove(handle.client, env.namespace, names)
                    log.info("strategy.leftovers_removed", environment=environment, names=names)
                    removed += names
        except Exception as exc:  # one environment must not stop the others
            log.warning("strategy.leftovers_failed", environment=environment, error=str(exc))
    return removed


def _moving(s: Session, *, environment: str, owner: str) -> bool:
    app = owner.split("/", 1)[1]
    return any(
        app in record.apps and in_progress(record)
        for record in store.open_promotions(s, environment=environment)
    )


def request(
    rt: Runtime, s: Session, promotion_id: str, *, actor: Actor, action: str
) -> PromotionRecord:
    """`resume` (end the current pause) or `skip` (pass over the current step) for every
    app of a promotion whose strategy is taking its steps."""
    record = get(s, promotion_id, lock=True)
    data = dict(PromotionData.of(record).strategy or {})
    if record.state != S.DEPLOYING.value or data.get("phase") != "steps":
        raise ConflictError(
            f"promotion {promotion_id} is not taking a strategy's steps ({record.state})"
        )
    apps = {a: dict(e) for a, e in data["apps"].items()}
    changed: list[str] = []
    refusals: list[str] = []
    for app, entry in apps.items():
        if entry.get("done"):
            continue
        plugin, config = plugin_of(entry), config_of(entry)
        try:
            if action == "resume":
                entry["state"] = plugin.resume(config, dict(entry["state"]))
            else:
                entry["state"] = plugin.skip(config, dict(entry["state"]))
        except StrategyRequestError as exc:
            refusals.append(f"{app}: {exc}")
            continue
        changed.append(app)
    if not changed:
        raise ConflictError("; ".join(refusals) or "no app is taking steps")
    data["apps"] = apps
    now = rt.now()
    what = "resumed" if action == "resume" else "skipped a step"
    store.add_step(
        s,
        promotion_id,
        Step(
            f"strategy {action}",
            now,
            now,
            "succeeded",
            f"{actor.name} {what} ({', '.join(changed)})",
        ),
    )
    audit.append_event(
        s,
        actor=actor.name,
        action=f"promotion.{action}",
        subject=promotion_id,
        environment=record.environment,
        details={"apps": changed},
    )
    return save(
        rt,
        s,
        record.domain(),
        data=PromotionData.of(record).but(strategy=data),
        next_check_at=None,  # look now
    )
