"""State Deploying with a progressive strategy (docs/strategies.md): commit the pin,
take the strategy's steps, then sync, and only then verify as always.

    commit   the deployer commits the pins without touching the cluster; before the
             commit each app's rendered objects are given to its strategy (`start`),
             which refuses what does not fit (nothing reaches git then)
    steps    one round of every app's strategy (`advance`) per reconcile; the state is
             saved after each round (a kill -9 resumes at the same step), every step
             that ends is a step of the promotion, and a failed one aborts
    complete the deployer syncs the commit (the stable objects get the new spec) and
             each strategy removes what it added (`complete`); then Verifying

Abort (a failed step, `promotion abort`, a deploy that fails) removes what the
strategies added and leaves the stable objects as they were; the promotion then fails
(automatic rollback and holds as always) or is aborted. `data.strategy` holds all of it:

    {"phase": "steps" | "complete" | "done" | "aborted", "commit": sha, "summary": text,
     "apps": {app: {"kind": "canary", "config": {...}, "state": {...}, "summary": text}}}

The strategy's configuration is kept as it was at the commit, so a shiplane.yaml change
in the middle of a canary does not change its steps. Rollback promotions always roll.

Pull-request mode (pull_request_merge.py): the strategy's `start` runs when the pins
are proposed (a canary that does not fit refuses before a pull request opens); after
the merge, `begin_steps` starts the steps at the merge commit (`merged: true`), and the
completion syncs that merge commit instead of committing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion import (
    Promotion,
    PromotionEvent,
    PromotionState,
    Step,
    StepOutcome,
)
from shiplane.engine.deploy import DeployError
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.deploy_failure import deploy_failed
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.outcome import fail
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy_plugins import (
    abort_all,
    config_of,
    context,
    kinds,
    plugin_of,
    summary_of,
)
from shiplane.engine.promotions.strategy_start import (
    begin_steps,
    progressive_apps,
    strategy_inspector,
)
from shiplane.engine.promotions.timing import IDLE_RECHECK
from shiplane.engine.promotions.transitions import get, save, transition
from shiplane.store import audit, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord
from shiplane.strategies import (
    StrategyRound,
)

log = structlog.get_logger(__name__)
S = PromotionState
RUNNING_PHASES = ("steps", "complete")


def in_progress(record: PromotionRecord) -> bool:
    """Whether a progressive strategy is moving the promotion's apps (drift's self-heal
    leaves them alone meanwhile)."""
    if record.state != S.DEPLOYING.value:
        return False
    return (PromotionData.of(record).strategy or {}).get("phase") in RUNNING_PHASES


def is_progressive(project: ProjectConfig, record: PromotionRecord) -> bool:
    """Whether a Deploying promotion takes this path: it started on it, or its apps'
    strategies say so now."""
    if PromotionData.of(record).strategy:
        return True
    return bool(progressive_apps(project, record.domain()))


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    p = record.domain()
    release = await rt.read(lambda s: releases.get_release(s, p.release_id))
    assert release is not None  # releases are never deleted
    if not PromotionData.of(record).strategy:
        record = await _commit(rt, record, release, fence)
    if _phase(record) == "steps":
        record = await _steps(rt, record, release, fence)
    if _phase(record) == "complete":
        record = await _complete(rt, record, release, fence)
    return record


def _phase(record: PromotionRecord) -> str | None:
    if record.state != S.DEPLOYING.value:
        return None
    return (PromotionData.of(record).strategy or {}).get("phase")


# --- commit -----------------------------------------------------------------------------


async def _commit(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    inspect, started = strategy_inspector(rt.project, p)
    try:
        outcome = await _deploy(rt, p, release, fence, to_cluster=False, inspect=inspect)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence)
    return await rt.fenced(
        fence, lambda s: begin_steps(rt, s, p.id, str(outcome.git_commit), started)
    )


async def _deploy(
    rt: Runtime,
    p: Promotion,
    release: ReleaseRecord,
    fence: Fence | None,
    *,
    to_cluster: bool,
    inspect: Any = None,
    merged: str | None = None,
) -> Any:
    if merged is not None:  # pull-request mode: sync the merge commit (nothing to commit)
        return await rt.deploy_promotion(p, release, fence, merged=merged)
    return await rt.deploy_promotion(p, release, fence, to_cluster=to_cluster, inspect=inspect)


# --- steps ------------------------------------------------------------------------------


async def _steps(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    data = dict(PromotionData.of(record).strategy or {})
    apps: dict[str, dict[str, Any]] = {a: dict(e) for a, e in data["apps"].items()}
    rounds: dict[str, StrategyRound] = {}
    for app, entry in apps.items():
        if entry.get("done"):
            continue
        ctx = context(rt, p, app, entry, release)
        rounds[app] = await plugin_of(entry).advance(ctx, dict(entry["state"]))
    for app, round_ in rounds.items():
        apps[app]["state"] = round_.state
        apps[app]["summary"] = plugin_of(apps[app]).summary(config_of(apps[app]), round_.state)
        apps[app]["done"] = round_.outcome == "done"
        if round_.weight is not None:
            apps[app]["weight"] = round_.weight
    failed = {app: r for app, r in rounds.items() if r.outcome == "failed"}
    if failed:
        removed = await abort_all(rt, p, apps, release)
        why = "; ".join(f"{app}: {r.reason}" for app, r in failed.items())
        reason = f"{kinds(apps)} aborted: {why}; {removed}; the stable version is untouched"
        data.update(phase="aborted", apps=apps)
        data["summary"] = summary_of(data)
        return await rt.fenced(
            fence,
            lambda s: _record_failure(rt, s, p.id, rounds, data, reason),
            queues=rt.queues_touched(p.environment),
        )
    if all(e.get("done") for e in apps.values()):
        data["phase"] = "complete"
    data["apps"] = apps
    data["summary"] = summary_of(data)
    waits = [r.next_check_at for r in rounds.values() if r.outcome == "running"]
    wake = min((w for w in waits if w is not None), default=None)
    reason = "; ".join(f"{app}: {r.reason}" for app, r in rounds.items()) or data["summary"]

    def write(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        if current.state != S.DEPLOYING.value:
            return current  # aborted meanwhile: the caller cleans up
        _add_steps(s, p.id, rounds, rt.now(), several=len(apps) > 1)
        ahead = rt.now() if data["phase"] == "complete" else wake or rt.now() + IDLE_RECHECK
        saved = save(
            rt,
            s,
            current.domain(),
            reason=reason,
            data=PromotionData.of(current).but(strategy=data),
            next_check_at=ahead,
        )
        if any(r.steps for r in rounds.values()):
            rt.emit(s, "promotion.strategy_step", saved)  # a step ended: people are told
            # ... and pages showing it reload (the web's live updates follow audit events)
            ended = [st.name for r in rounds.values() for st in r.steps]
            audit.append_event(
                s,
                actor="shiplane",
                action="promotion.strategy_step",
                subject=p.id,
                environment=p.environment,
                app=p.apps[0] if len(p.apps) == 1 else None,
                details={"steps": ended, "summary": data["summary"]},
            )
        return saved

    saved = await rt.fenced(fence, write)
    if saved.state != S.DEPLOYING.value:
        # Aborted by a person while this round ran: what the round applied goes too.
        await abort_all(rt, p, apps, release)
    return saved


def _record_failure(
    rt: Runtime,
    s: Session,
    promotion_id: str,
    rounds: Mapping[str, StrategyRound],
    data: dict[str, Any],
    reason: str,
) -> PromotionRecord:
    current = get(s, promotion_id)
    if current.state != S.DEPLOYING.value:
        return current
    _add_steps(s, promotion_id, rounds, rt.now(), several=len(data.get("apps") or {}) > 1)
    save(rt, s, current.domain(), data=PromotionData.of(current).but(strategy=data))
    return fail(
        rt,
        s,
        promotion_id,
        PromotionEvent.DEPLOY_FAILED,
        reason,
        git_commit=data.get("commit"),
        deployed=True,  # git has the new pin: the rollback policy decides what git says
    )


def _add_steps(
    s: Session,
    promotion_id: str,
    rounds: Mapping[str, StrategyRound],
    now: datetime,
    *,
    several: bool,
) -> None:
    """Each step that ended, named by its app when several apps take steps."""
    for app, round_ in rounds.items():
        for step in round_.steps:
            name = f"{app}: {step.name}" if several else step.name
            store.add_step(s, promotion_id, Step(name, now, now, step.outcome, step.detail))


# --- complete ---------------------------------------------------------------------------


async def _complete(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    data = dict(PromotionData.of(record).strategy or {})
    apps: dict[str, dict[str, Any]] = {a: dict(e) for a, e in data["apps"].items()}
    if not data.get("synced"):
        merged = str(data["commit"]) if data.get("merged") else None
        try:
            await _deploy(rt, p, release, fence, to_cluster=True, merged=merged)
        except DeployError as exc:
            removed = await abort_all(rt, p, apps, release)
            return await deploy_failed(rt, p, exc, fence, prefix=f"{removed}; ")
        data["synced"] = True
    rounds: dict[str, StrategyRound] = {}
    for app, entry in apps.items():
        if entry.get("completed"):
            continue
        round_ = await plugin_of(entry).complete(
            context(rt, p, app, entry, release), dict(entry["state"])
        )
        rounds[app] = round_
        entry["state"] = round_.state
        entry["completed"] = round_.outcome == "done"
    data["apps"] = apps
    commit = data.get("commit")
    failed = {app: r for app, r in rounds.items() if r.outcome == "failed"}
    if failed:
        removed = await abort_all(rt, p, apps, release)
        why = "; ".join(f"{app}: {r.reason}" for app, r in failed.items())
        data["phase"] = "aborted"
        return await rt.fenced(
            fence,
            lambda s: _record_failure(rt, s, p.id, {}, data, f"{why}; {removed}"),
            queues=rt.queues_touched(p.environment),
        )
    pending = [r for r in rounds.values() if r.outcome == "running"]

    def write(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        if current.state != S.DEPLOYING.value:
            return current
        now = rt.now()
        for app, round_ in rounds.items():
            if round_.outcome != "running":
                outcome: StepOutcome = "succeeded" if round_.outcome == "done" else "failed"
                store.add_step(
                    s, p.id, Step(f"strategy {app} completed", now, now, outcome, round_.reason)
                )
        if pending:
            wake = min((r.next_check_at for r in pending if r.next_check_at), default=None)
            return save(
                rt,
                s,
                current.domain(),
                reason="; ".join(r.reason for r in pending),
                data=PromotionData.of(current).but(strategy=data),
                next_check_at=wake or now + IDLE_RECHECK,
            )
        data["phase"] = "done"
        return transition(
            rt,
            s,
            current.domain(),
            PromotionEvent.DEPLOYED,
            f"{kinds(apps)} passed every step; deployed {str(commit)[:12]}; verifying",
            git_commit=commit,
            data=PromotionData.of(current).but(strategy=data, verify={}),
        )

    return await rt.fenced(fence, write)
