"""The approvals inbox: every promotion waiting for the signed-in user's approval, with
how many approvals are missing and when those given expire (engine/promotions/inbox.py).
Approve and reject are the API's own requests (api/routes_promotion_actions.py), each button
disabled with the engine's reason when the user may not take it now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shiplane.api import routes_promotion_actions
from shiplane.api.context import ApiContext, get_context
from shiplane.api.promotion_refs import PromotionAction
from shiplane.api.schemas_promotions import Decision, Rejection
from shiplane.engine.promotions.inbox import InboxItem, approvals_inbox
from shiplane.engine.promotions.permissions import ACTION_ROLES, ActionCheck, allowed_actions
from shiplane.store import releases
from shiplane.web.auth import WebUser, require_user, verify_csrf
from shiplane.web.engine_calls import Refusal, engine_of, form_fields, parse_body, permit, run
from shiplane.web.forms import FormError, read_form
from shiplane.web.paths import UI_PREFIX
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
APPROVALS_PATH = f"{UI_PREFIX}/approvals"


@dataclass(frozen=True)
class InboxRow:
    item: InboxItem
    release: str  # alias, else id
    approve: ActionCheck
    reject: ActionCheck


def _rows(context: ApiContext, user: WebUser) -> list[InboxRow] | None:
    project = context.current_project
    if project is None:
        return None
    caller, now = user.principal.caller(), context.now()
    with context.database.session(readonly=True) as s:
        items = approvals_inbox(project, s, caller, now)
        names = releases.aliases(s, (i.promotion.release_id for i in items))
        rows = []
        for item in items:
            checks = allowed_actions(project, s, item.promotion, caller, now)
            rows.append(
                InboxRow(
                    item,
                    names.get(item.promotion.release_id) or item.promotion.release_id,
                    checks["approve"],
                    checks["reject"],
                )
            )
    return rows


def _page(
    request: Request,
    context: ApiContext,
    user: WebUser,
    *,
    errors: dict[str, Any] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    rows = _rows(context, user)
    return render(
        request,
        "approvals.html",
        user=user,
        active="approvals",
        rows=rows,
        errors=errors or {},
        done=done,
        approvals_path=APPROVALS_PATH,
        status=status,
    )


@router.get(APPROVALS_PATH)
def approvals_page(
    request: Request,
    done: str | None = None,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    shown = done if done in ("approved", "rejected") else None
    return _page(request, context, user, done=shown)


@router.post(APPROVALS_PATH + "/{promotion_id}/{decision}")
async def decide(
    request: Request,
    promotion_id: str,
    decision: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    try:
        form = await read_form(request)
    except FormError:
        form = {}
    verify_csrf(request, user, form)
    try:
        await _decide(context, user, promotion_id, decision, form)
    except Refusal as exc:
        field, message = exc.first()
        errors = {"promotion": promotion_id, "field": field or None, "message": message}
        return await run_in_threadpool(
            _page, request, context, user, errors=errors, status=exc.status
        )
    word = "approved" if decision == "approve" else "rejected"
    return RedirectResponse(f"{APPROVALS_PATH}?done={word}", status_code=303)


async def _decide(
    context: ApiContext, user: WebUser, promotion_id: str, decision: str, form: dict[str, str]
) -> None:
    """The API's approve or reject, with its role check first (as its dependency does)."""
    if decision not in ("approve", "reject"):
        raise Refusal(404, {"": f"unknown decision {decision!r}: approve or reject"})
    permit(user, ACTION_ROLES["approve" if decision == "approve" else "reject"], [])
    role = ACTION_ROLES["approve" if decision == "approve" else "reject"]
    call = PromotionAction(promotion_id, user.principal, engine_of(context), role)
    if decision == "approve":
        body = parse_body(Decision, form_fields(form, ("comment",)))
        await run(lambda: routes_promotion_actions.approve(body=body, call=call))
    else:
        rejection = parse_body(Rejection, form_fields(form, ("reason",)))
        await run(lambda: routes_promotion_actions.reject(body=rejection, call=call))
