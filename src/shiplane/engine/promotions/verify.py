"""State Verifying: health first, then the environment's checks, one bounded round at a
time; the checks' state is saved on the promotion so a restart resumes where it was.

The round runs outside any transaction (it talks to the cluster and to check backends);
its result is recorded in one fenced transaction, and only if the promotion is still
Verifying (a person may have aborted it meanwhile).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiplane.domain.errors import InvalidError
from shiplane.domain.promotion import Promotion, PromotionEvent, PromotionState, Step, StepOutcome
from shiplane.domain.promotion_health import health_after_round
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.outcome import fail, succeed
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.timing import IDLE_RECHECK
from shiplane.engine.promotions.transitions import get, save
from shiplane.engine.verification import VerifyRound
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord

S = PromotionState


async def handle(rt: Runtime, record: PromotionRecord, fence: Fence | None) -> PromotionRecord:
    p = record.domain()

    def gather(s: Session) -> tuple[list[ObjRef], ReleaseRecord | None]:
        refs: list[ObjRef] = []
        for app in p.apps:
            refs += [
                ObjRef.from_json(o) for o in deploys.get_inventory(s, p.environment, app) or []
            ]
        return refs, releases.get_release(s, p.release_id)

    refs, release = await rt.read(gather)
    assert release is not None  # releases are never deleted
    before = PromotionData.of(record).verify_state()
    try:
        round_ = await _round(rt, p, refs, release, before)
    except InvalidError as exc:
        # Wrong configuration found only now (an expression, a template, a check's
        # settings): no later round can pass, so the promotion fails at once, saying
        # what to fix, instead of staying Verifying while the loop retries it.
        round_ = VerifyRound("failed", f"verification cannot run: {exc}", None, before)
    if fence is not None:
        fence.assert_held()  # a paused replica must not record a stale round
    recorded = await rt.fenced(
        fence,
        lambda s: record_round(rt, s, p.id, round_, before),
        queues=rt.queues_touched(p.environment),
    )
    # Pull-request mode: the outcome's commit status was queued with the transition
    # (forge_outcome.py) and is posted by the notification worker.
    return recorded


async def _round(
    rt: Runtime,
    p: Promotion,
    refs: list[ObjRef],
    release: ReleaseRecord,
    before: dict[str, object],
) -> VerifyRound:
    return await rt.verify_round(
        project=rt.project,
        environment=p.environment,
        handle=rt.clusters.for_environment(p.environment),
        refs=refs,
        release=release.info(),
        apps=p.apps,
        run_id=p.id,
        state=before,
        clock=rt.clock,
        health_timeout=rt.health_timeout,
        run_checks=p.kind != "rollback",
    )


def record_round(
    rt: Runtime, s: Session, promotion_id: str, round_: VerifyRound, before: dict[str, object]
) -> PromotionRecord:
    current = get(s, promotion_id)
    if current.state != S.VERIFYING.value:
        return current  # aborted meanwhile
    p = current.domain()
    data = PromotionData.of(current).but(verify=round_.state, verify_reason=round_.reason)
    now = rt.now()
    health = health_after_round(
        outcome=round_.outcome, reason=round_.reason, state=round_.state, before=before
    )
    if health is not None:  # the matrix shows what verification found
        for app in p.apps:
            deploys.update_deployment(
                s,
                environment=p.environment,
                app=app,
                health=health[0].value,
                health_reason=health[1],
                now=rt.now,
            )
    for name, result in round_.finished_checks:
        outcome: StepOutcome = "succeeded" if result["outcome"] == "passed" else "failed"
        step = Step(
            f"check {name}", now, now, outcome, result.get("reason", ""), {"result": result}
        )
        store.add_step(s, p.id, step)
    if round_.outcome == "passed":
        return succeed(rt, s, current, data)
    if round_.outcome == "failed":
        save(rt, s, p, data=data)
        rt.observe_verification("failed", round_.state.get("started_at"))
        return fail(rt, s, p.id, PromotionEvent.VERIFICATION_FAILED, round_.reason, deployed=True)
    wake = round_.next_check_at if round_.outcome == "running" else None
    return save(rt, s, p, data=data, next_check_at=wake or now + IDLE_RECHECK)
