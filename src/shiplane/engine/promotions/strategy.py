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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.config.models.base import STORED
from shiplane.domain.errors import ConflictError
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
from shiplane.engine.promotions.model import Actor, PromotionData
from shiplane.engine.promotions.outcome import fail
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy_checks import analyser
from shiplane.engine.promotions.timing import IDLE_RECHECK
from shiplane.engine.promotions.transitions import get, save, transition
from shiplane.store import audit, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord
from shiplane.strategies import (
    STRATEGIES,
    Strategy,
    StrategyContext,
    StrategyRequestError,
    StrategyRound,
)

log = structlog.get_logger(__name__)
S = PromotionState
RUNNING_PHASES = ("steps", "complete")


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
    configs = progressive_apps(rt.project, p)
    started: dict[str, dict[str, Any]] = {}

    def inspect(app: str, objects: Sequence[Mapping[str, Any]]) -> str | None:
        config = configs.get(app)
        if config is None:
            return "rolling"
        state = STRATEGIES.get(config.kind).plugin.start(config.spec, app, objects)
        started[app] = {
            "kind": config.kind,
            "config": config.spec.model_dump(mode="json", by_alias=True),
            "state": state,
        }
        return str(config.kind)

    try:
        outcome = await _deploy(rt, p, release, fence, to_cluster=False, inspect=inspect)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence)
    commit = outcome.git_commit
    for entry in started.values():
        entry["summary"] = _plugin(entry).summary(_config(entry), entry["state"])

    def write(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        if current.state != S.DEPLOYING.value:
            return current
        data = {"phase": "steps", "commit": commit, "apps": started}
        data["summary"] = _summary(data)
        now = rt.now()
        names = ", ".join(f"{app} {e['kind']}" for app, e in started.items())
        store.add_step(
            s,
            p.id,
            Step("strategy", now, now, "succeeded", f"committed {str(commit)[:12]}; {names}"),
        )
        return save(
            rt,
            s,
            current.domain(),
            reason=f"committed {str(commit)[:12]}; {data['summary']}",
            data=PromotionData.of(current).but(strategy=data),
            next_check_at=now,
        )

    return await rt.fenced(fence, write)


async def _deploy(
    rt: Runtime,
    p: Promotion,
    release: ReleaseRecord,
    fence: Fence | None,
    *,
    to_cluster: bool,
    inspect: Any = None,
) -> Any:
    return await rt.deployer.deploy(
        release,
        p.environment,
        actor=p.requested_by,
        apps=list(p.apps),
        promotion_id=p.id,
        kind="deploy",
        wait=False,
        fence=fence,
        to_cluster=to_cluster,
        inspect=inspect,
    )


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
        ctx = _context(rt, p, app, entry, release)
        rounds[app] = await _plugin(entry).advance(ctx, dict(entry["state"]))
    for app, round_ in rounds.items():
        apps[app]["state"] = round_.state
        apps[app]["summary"] = _plugin(apps[app]).summary(_config(apps[app]), round_.state)
        apps[app]["done"] = round_.outcome == "done"
        if round_.weight is not None:
            apps[app]["weight"] = round_.weight
    failed = {app: r for app, r in rounds.items() if r.outcome == "failed"}
    if failed:
        removed = await _abort_all(rt, p, apps, release)
        why = "; ".join(f"{app}: {r.reason}" for app, r in failed.items())
        reason = f"{_kinds(apps)} aborted: {why}; {removed}; the stable version is untouched"
        data.update(phase="aborted", apps=apps)
        data["summary"] = _summary(data)
        return await rt.fenced(
            fence,
            lambda s: _record_failure(rt, s, p.id, rounds, data, reason),
            queues=rt.queues_touched(p.environment),
        )
    if all(e.get("done") for e in apps.values()):
        data["phase"] = "complete"
    data["apps"] = apps
    data["summary"] = _summary(data)
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
        return saved

    saved = await rt.fenced(fence, write)
    if saved.state != S.DEPLOYING.value:
        # Aborted by a person while this round ran: what the round applied goes too.
        await _abort_all(rt, p, apps, release)
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
        try:
            await _deploy(rt, p, release, fence, to_cluster=True)
        except DeployError as exc:
            removed = await _abort_all(rt, p, apps, release)
            return await deploy_failed(rt, p, exc, fence, prefix=f"{removed}; ")
        data["synced"] = True
    rounds: dict[str, StrategyRound] = {}
    for app, entry in apps.items():
        if entry.get("completed"):
            continue
        round_ = await _plugin(entry).complete(
            _context(rt, p, app, entry, release), dict(entry["state"])
        )
        rounds[app] = round_
        entry["state"] = round_.state
        entry["completed"] = round_.outcome == "done"
    data["apps"] = apps
    commit = data.get("commit")
    failed = {app: r for app, r in rounds.items() if r.outcome == "failed"}
    if failed:
        removed = await _abort_all(rt, p, apps, release)
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
            f"{_kinds(apps)} passed every step; deployed {str(commit)[:12]}; verifying",
            git_commit=commit,
            data=PromotionData.of(current).but(strategy=data, verify={}),
        )

    return await rt.fenced(fence, write)


# --- abort and people's requests --------------------------------------------------------


async def abort_after(rt: Runtime, record: PromotionRecord) -> None:
    """After a promotion left Deploying by a request (abort): remove what its strategies
    added. Safe to repeat, and a no-op for a promotion without a strategy in progress."""
    data = PromotionData.of(record).strategy or {}
    if data.get("phase") not in RUNNING_PHASES:
        return
    release = await rt.read(lambda s: releases.get_release(s, record.release_id))
    assert release is not None
    apps = {a: dict(e) for a, e in data["apps"].items()}
    removed = await _abort_all(rt, record.domain(), apps, release)

    def write(s: Session) -> None:
        current = get(s, record.id)
        strategy = dict(PromotionData.of(current).strategy or {})
        strategy["phase"] = "aborted"
        strategy["summary"] = f"{_kinds(apps)} aborted: {removed}"
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


async def _abort_all(
    rt: Runtime, p: Promotion, apps: Mapping[str, Mapping[str, Any]], release: ReleaseRecord
) -> str:
    done: list[str] = []
    for app, entry in apps.items():
        ctx = _context(rt, p, app, entry, release)
        try:
            done.append(await _plugin(entry).abort(ctx, dict(entry["state"])))
        except Exception as exc:  # the others still go; say what is left
            log.exception("strategy.abort_failed", promotion=p.id, app=app)
            done.append(f"{app}: could not remove its objects: {exc}")
    return "; ".join(done)


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
        plugin, config = _plugin(entry), _config(entry)
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


# --- helpers ----------------------------------------------------------------------------


def _plugin(entry: Mapping[str, Any]) -> Strategy:
    return STRATEGIES.get(str(entry["kind"])).plugin


def _config(entry: Mapping[str, Any]) -> BaseModel:
    """The strategy's configuration as the promotion started with it."""
    schema = STRATEGIES.get(str(entry["kind"])).schema
    return schema.model_validate(entry.get("config") or {}, context=STORED)


def _kinds(apps: Mapping[str, Mapping[str, Any]]) -> str:
    return " and ".join(sorted({str(e["kind"]) for e in apps.values()})) or "strategy"


def _summary(data: Mapping[str, Any]) -> str:
    apps = data.get("apps") or {}
    parts = [f"{app}: {e.get('summary', e.get('kind'))}" for app, e in apps.items()]
    return "; ".join(parts) if len(parts) > 1 else (parts[0].split(": ", 1)[1] if parts else "")


def _context(
    rt: Runtime, p: Promotion, app: str, entry: Mapping[str, Any], release: ReleaseRecord
) -> StrategyContext:
    env = rt.project.require_environment(p.environment)
    handle = rt.clusters.for_environment(p.environment)
    return StrategyContext(
        environment=p.environment,
        namespace=env.namespace,
        app=app,
        config=_config(entry),
        client=handle.client,
        clock=rt.clock,
        run_id=p.id,
        analyse=analyser(rt, p, app, handle, release),
    )
