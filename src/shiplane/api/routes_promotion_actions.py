"""What people do to one promotion: approve, reject, abort, resume and skip a step of a
progressive strategy, retry, resolve a check. Each route names the role it needs once
(`acting_on`); the token's environment scope is checked against the promotion after
the body is validated (`PromotionAction.actor`). The engine writes each change and its
audit event in one transaction. Included in routes_promotions.py's router."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shiplane.api.problems import problem_openapi_responses
from shiplane.api.promotion_refs import PromotionAction, acting_on
from shiplane.api.schemas_promotions import Decision, Reason, Rejection, Resolution
from shiplane.domain.roles import Role
from shiplane.engine.promotions.permissions import ACTION_ROLES
from shiplane.store.promotions import PromotionRecord

router = APIRouter(tags=["promotions"])
_ERRORS = problem_openapi_responses(401, 403, 404, 409, 422)


@router.post(
    "/promotions/{promotion_id}/approve",
    summary="Approve (separation of duties: not the requester or the release's creator)",
    responses=_ERRORS,
)
async def approve(
    body: Decision | None = None,
    call: PromotionAction = Depends(acting_on(ACTION_ROLES["approve"])),
) -> PromotionRecord:
    actor = await call.actor()
    comment = body.comment if body else ""
    return await call.engine.promotions.approve(
        call.promotion_id, actor=actor, decision="approve", comment=comment
    )


@router.post(
    "/promotions/{promotion_id}/reject",
    summary="Reject: the promotion ends with the reason",
    responses=_ERRORS,
)
async def reject(
    body: Rejection,
    call: PromotionAction = Depends(acting_on(ACTION_ROLES["reject"])),
) -> PromotionRecord:
    actor = await call.actor()
    return await call.engine.promotions.approve(
        call.promotion_id, actor=actor, decision="reject", comment=body.reason
    )


@router.post(
    "/promotions/{promotion_id}/abort",
    summary="Abort a queued, waiting, deploying or verifying promotion",
    responses=_ERRORS,
)
async def abort(
    body: Reason | None = None,
    call: PromotionAction = Depends(acting_on(ACTION_ROLES["abort"])),
) -> PromotionRecord:
    actor = await call.actor()
    reason = body.reason if body else ""
    return await call.engine.promotions.abort(call.promotion_id, actor=actor, reason=reason)


@router.post(
    "/promotions/{promotion_id}/resume",
    summary="End the pause a progressive strategy (a canary) waits in",
    responses=_ERRORS,
)
async def resume(call: PromotionAction = Depends(acting_on(Role.PROMOTER))) -> PromotionRecord:
    return await call.engine.promotions.resume(call.promotion_id, actor=await call.actor())


@router.post(
    "/promotions/{promotion_id}/skip-step",
    summary="Pass over the step a progressive strategy (a canary) is taking",
    responses=_ERRORS,
)
async def skip_step(
    call: PromotionAction = Depends(acting_on(Role.PROMOTER)),
) -> PromotionRecord:
    return await call.engine.promotions.skip_step(call.promotion_id, actor=await call.actor())


@router.post(
    "/promotions/{promotion_id}/retry",
    status_code=201,
    summary="Promote the same release again (a new promotion)",
    responses=_ERRORS,
)
async def retry(
    call: PromotionAction = Depends(acting_on(ACTION_ROLES["retry"])),
) -> PromotionRecord:
    return await call.engine.promotions.retry(call.promotion_id, actor=await call.actor())


@router.post(
    "/promotions/{promotion_id}/checks/{check}/resolve",
    summary="Pass or fail an inconclusive verification check",
    responses=_ERRORS,
)
async def resolve_check(
    check: str,
    body: Resolution,
    call: PromotionAction = Depends(acting_on(ACTION_ROLES["resolve"])),
) -> PromotionRecord:
    actor = await call.actor()
    return await call.engine.promotions.resolve_check(
        call.promotion_id, check, passed=body.passed, actor=actor, comment=body.comment
    )
