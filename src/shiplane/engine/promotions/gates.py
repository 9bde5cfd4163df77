"""State Waiting: evaluate the environment's gates until they pass (or one rejects).

Every evaluation records its inputs and outcome on the promotion (for `explain`); a step
is recorded only when what it waits for changes, not on every re-check. The promotion
is looked at again when the earliest gate can change (a window opens, a soak ends), or
after IDLE_RECHECK when no gate knows (an approval; events wake it earlier).

A rollback of the same (environment, app) goes first (docs/gates.md, "Queueing"): while
one is queued or running, the gates are not evaluated and the promotion is evaluated
afresh once the rollback is done.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shiplane.domain.errors import InvalidError
from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState, Step
from shiplane.domain.promotion_queue import rollbacks_first
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.permissions import release_info
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.timing import IDLE_RECHECK
from shiplane.engine.promotions.transitions import get, postpone, save, transition
from shiplane.gates import (
    GateContext,
    GateResult,
    TargetEnvironment,
    evaluate_all,
    gates_for,
    next_check,
    overall,
)
from shiplane.store import promotion_controls, verifications
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

S = PromotionState
E = PromotionEvent
ROLLBACK_WAIT = "rollback"
"""What a `gates` step names when the promotion lets a rollback go first (insights)."""


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    return await rt.fenced(fence, lambda s: evaluate_gates(rt, s, record.id))


def evaluate_gates(rt: Runtime, s: Session, promotion_id: str) -> PromotionRecord:
    record = get(s, promotion_id)
    if record.state != S.WAITING.value:
        return record
    p = record.domain()
    # Serialise with a rollback starting in this environment (start.try_start): either
    # this promotion deploys first and the rollback queues behind it, or it sees the
    # rollback and lets it go first.
    store.lock_queue(s, p.environment)
    first = rollbacks_first(
        [r.domain() for r in store.open_promotions(s, environment=p.environment)], p
    )
    if first:
        reason = f"letting rollback {', '.join(q.id for q in first)} go first"
        if reason == record.reason:
            return postpone(s, p.id, rt.now() + IDLE_RECHECK)
        # Recorded like a gate that waits, so insights can say where the time went.
        now = rt.now()
        waiting = {"results": [], "waiting_on": [ROLLBACK_WAIT]}
        store.add_step(s, p.id, Step("gates", now, now, "succeeded", reason, waiting))
        return save(rt, s, p, reason=reason, next_check_at=now + IDLE_RECHECK)
    try:
        results = evaluate_all(gate_context(rt, s, p), gates_for(rt.project, p.environment))
    except InvalidError as exc:
        # A gate's configuration found wrong only now: no later evaluation can pass, so
        # the promotion fails at once with what to fix (never a retry loop of tracebacks).
        return transition(rt, s, p, E.GATE_REJECTED, f"gates cannot be evaluated: {exc}")
    decision = overall(results)
    records = [r.to_record() for r in results]
    before = PromotionData.of(record)
    data = before.but(gates=records)
    summary = "; ".join(f"{r.gate}: {r.reason}" for r in results if r.outcome != "pass")
    if decision == "pass":
        rt.observe_gate_wait(p.environment, before.waiting_since)
        return transition(rt, s, p, E.GATES_PASSED, "gates passed; deploying", data=data)
    if decision == "reject":
        return transition(rt, s, p, E.GATE_REJECTED, summary or "rejected by a gate", data=data)
    wake_at = next_check(results) or rt.now() + IDLE_RECHECK
    if summary != record.reason:
        now = rt.now()
        store.add_step(s, p.id, Step("gates", now, now, "succeeded", summary, {"results": records}))
        _notify_wait(rt, s, record, results)
    return save(rt, s, p, reason=summary, data=data, next_check_at=wake_at)


def _notify_wait(
    rt: Runtime, s: Session, record: PromotionRecord, results: list[GateResult]
) -> None:
    """Tell people when a promotion starts waiting on them (an approval, a freeze)."""
    waiting_on = {r.gate for r in results if r.outcome == "wait"}
    if "approval" in waiting_on:
        rt.emit(s, "promotion.waiting_for_approval", record)
    elif "freeze" in waiting_on:
        rt.emit(s, "promotion.frozen", record)


def gate_context(rt: Runtime, s: Session, p: Promotion) -> GateContext:
    env = rt.project.environments[p.environment]
    upstream = list(env.after.environments)
    verified = verifications.verified_apps(s, p.release_id, upstream)
    upstream_verified: dict[str, dict[str, datetime | None]] = {
        e: {app: verified[e].get(app) for app in p.apps} for e in upstream
    }
    return GateContext(
        promotion=p,
        release=release_info(s, p.release_id),
        environment=TargetEnvironment(p.environment, env),
        clock=rt.clock,
        upstream_verified=upstream_verified,
        approvals=promotion_controls.approvals_for(s, p.release_id, p.environment),
        freezes=promotion_controls.list_freezes(s),
        holds=promotion_controls.list_holds(s, p.environment),
    )
