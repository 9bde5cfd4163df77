"""What people do to promotions: approve or reject, abort, retry, roll back, resolve an
inconclusive check.

Each request is one function over an open transaction: it checks that the request is
allowed now (raising a family of `shiplane.domain.errors`, which the API maps to a
status), then writes the change and its audit event. The controller runs each in its own
transaction and wakes the loop afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from sqlalchemy.orm import Session

from shiplane.domain.errors import ConflictError, ForbiddenError
from shiplane.domain.promotion import PromotionEvent, PromotionState, Step
from shiplane.domain.promotion_controls import Approval, Hold
from shiplane.engine.faults import fault_point
from shiplane.engine.promotions import strategy_requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.live_health import refresh_health
from shiplane.engine.promotions.model import Actor, PromotionData
from shiplane.engine.promotions.permissions import (
    abort_refusal,
    approval_refusal,
    release_info,
    resolve_refusal,
    retry_refusal,
    rollback_target,
)
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, postpone, save, transition
from shiplane.gates.checks.runner import resolve_inconclusive
from shiplane.store import audit, promotion_controls
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord

S = PromotionState

# Refusals that are about the promotion's state, not about who asks.
_STATE_REFUSALS = ("not_waiting", "already_approved", "no_approvals_needed")


def approve(
    rt: Runtime, s: Session, promotion_id: str, *, actor: Actor, decision: str, comment: str = ""
) -> PromotionRecord:
    """Approve or reject (`decision`); the gates take it into account on their next look."""
    p = get(s, promotion_id, lock=True).domain()
    verdict: Literal["approve", "reject"] = "reject" if decision == "reject" else "approve"
    now = rt.now()
    refusal = approval_refusal(rt.project, s, p, actor, now, decision=verdict)
    if refusal is not None:
        if refusal.code in _STATE_REFUSALS:
            raise ConflictError(refusal.message)
        raise ForbiddenError(refusal.message)
    promotion_controls.record_approval(
        s,
        Approval(
            actor.name, actor.groups, now, verdict, p.release_id, p.environment, p.id, comment
        ),
    )
    store.add_step(
        s, p.id, Step(verdict, now, now, "succeeded", f"{actor.name}: {comment}".rstrip(": "))
    )
    audit.append_event(
        s,
        actor=actor.name,
        action=f"promotion.{verdict}",
        subject=p.id,
        environment=p.environment,
        details={"release": p.release_id, "comment": comment},
    )
    return postpone(s, p.id, None)


def abort(
    rt: Runtime, s: Session, promotion_id: str, *, actor: Actor, reason: str
) -> PromotionRecord:
    p = get(s, promotion_id, lock=True).domain()
    refusal = abort_refusal(p)
    if refusal is not None:
        raise ConflictError(refusal)
    return transition(
        rt,
        s,
        p,
        PromotionEvent.ABORTED,
        f"aborted by {actor.name}: {reason}",
        actor=actor.name,
        action="promotion.abort",
    )


async def abort_and_reassess(
    rt: Runtime,
    promotion_id: str,
    *,
    actor: Actor,
    reason: str,
    then: Callable[[], None] = lambda: None,
) -> PromotionRecord:
    """Abort (one transaction), call `then` (wake the loop), and when something may have
    been deployed, assess the apps' health again from the live objects (live_health) in
    the background, so the request does not wait for a rollout to settle."""
    before = await rt.read(lambda s: get(s, promotion_id).state)
    aborted = await rt.write(lambda s: abort(rt, s, promotion_id, actor=actor, reason=reason))
    # A canary (any strategy's extra objects) goes at once: all traffic on the stable
    # version before the request answers.
    await strategy_requests.abort_after(rt, aborted)
    # Pull-request mode: closing the pull request it waited for was queued with the
    # abort (forge_outcome.py); the notification worker does it.
    fault_point("promotion.aborted")
    then()
    if before in (S.DEPLOYING.value, S.VERIFYING.value):
        rt.spawn(refresh_health(rt, aborted.domain()), f"health after abort {promotion_id}")
    return aborted


def resume(rt: Runtime, s: Session, promotion_id: str, *, actor: Actor) -> PromotionRecord:
    """End the pause a progressive strategy waits in (`pause: {}` waits for this)."""
    return strategy_requests.request(rt, s, promotion_id, actor=actor, action="resume")


def skip_step(rt: Runtime, s: Session, promotion_id: str, *, actor: Actor) -> PromotionRecord:
    """Pass over the step a progressive strategy is taking (a pause, an analysis...)."""
    return strategy_requests.request(rt, s, promotion_id, actor=actor, action="skip")


def retry(rt: Runtime, s: Session, promotion_id: str, *, actor: Actor) -> PromotionRecord:
    """A new promotion of the same release into the same environment."""
    old = get(s, promotion_id)
    refusal = retry_refusal(old.domain())
    if refusal is not None:
        raise ConflictError(refusal)
    return create_promotion(
        rt,
        s,
        old.release_id,
        old.environment,
        actor=actor,
        reason=f"retry of {old.id}",
        kind="rollback" if old.kind == "rollback" else "normal",
    )


def rollback(
    rt: Runtime,
    s: Session,
    environment: str,
    app: str,
    *,
    actor: Actor,
    to: str | None = None,
    reason: str = "",
) -> PromotionRecord:
    """Promote an earlier release of `app` (default: the last one verified there) and hold
    auto-promotion, so the next release does not undo it."""
    rt.project.require_environment(environment)
    rt.project.require_app(app)
    target = to if to is not None else rollback_target(s, environment, app)
    record = create_promotion(
        rt,
        s,
        target,
        environment,
        actor=actor,
        kind="rollback",
        reason=reason or f"rollback of {app} requested",
    )
    promotion_controls.set_hold(
        s, Hold(environment, app, actor.name, rt.now(), f"rollback {record.id}")
    )
    return record


def resolve_check(
    rt: Runtime,
    s: Session,
    promotion_id: str,
    check: str,
    *,
    passed: bool,
    actor: Actor,
    comment: str = "",
) -> PromotionRecord:
    """A person decides a check that could not decide itself (inconclusive)."""
    record = get(s, promotion_id, lock=True)
    now = rt.now()
    refusal = resolve_refusal(record, check, actor.name, now)
    if refusal is not None:
        raise ConflictError(refusal)
    data = PromotionData.of(record)
    verify = data.verify_state()
    states = dict(verify.get("checks") or {})
    states[check] = resolve_inconclusive(states[check], passed, actor.name, comment=comment, at=now)
    verify["checks"] = states
    audit.append_event(
        s,
        actor=actor.name,
        action="promotion.resolve_check",
        subject=promotion_id,
        environment=record.environment,
        details={"check": check, "passed": passed, "comment": comment},
    )
    return save(rt, s, record.domain(), data=data.but(verify=verify), next_check_at=None)


__all__ = [
    "abort",
    "approve",
    "release_info",
    "resolve_check",
    "resume",
    "retry",
    "rollback",
    "skip_step",
]
