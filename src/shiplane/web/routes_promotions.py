"""Promotions: the list (filtered by state, paged) and one promotion's page: its step
timeline, gates, checks, a progressive strategy's progress (web/strategy_view.py), live
while it runs (the `#promotion` fragment reloads on audit events), and its actions, each a
CSRF-protected POST running the API's own engine request; a button the engine would
refuse is disabled with the engine's reason. Resume and Skip step steer a strategy (role
promoter in the promotion's environment, as `POST /api/v1/promotions/{id}/resume`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.api.schemas_promotions import Decision, Reason, Rejection, RollbackRequest
from shiplane.domain.pagination import InvalidCursorError
from shiplane.domain.promotion import PromotionState
from shiplane.domain.roles import Role
from shiplane.engine.promotions.permissions import ACTION_ROLES, ACTIONS, Action
from shiplane.store import promotions as store
from shiplane.store.id_prefixes import promotion_ids_with_prefix
from shiplane.store.promotions import PromotionRecord
from shiplane.web.auth import UiError, WebUser, require_user, verify_csrf
from shiplane.web.engine_calls import Refusal, engine_of, parse_body, permit, run
from shiplane.web.forms import FormError, read_form
from shiplane.web.paths import UI_PREFIX
from shiplane.web.promotion_view import PromotionView, promotion_view
from shiplane.web.strategy_view import strategy_view
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
LIST_PATH = f"{UI_PREFIX}/promotions"
PAGE_SIZE = 50
STATES = tuple(s.value for s in PromotionState)
# What a redirect after an action may announce (a fixed set: no text from the URL).
NOTICES = {
    "approved": "You approved this promotion.",
    "rejected": "You rejected this promotion.",
    "aborted": "You aborted this promotion.",
    "resolved": "You decided the check.",
    "resumed": "You resumed the strategy.",
    "skipped": "You skipped the strategy's current step.",
}
# A progressive strategy's requests (docs/strategies.md): form action -> notice.
STRATEGY_ACTIONS = {"resume": "resumed", "skip-step": "skipped"}


def promotion_path(promotion_id: str) -> str:
    return f"{LIST_PATH}/{promotion_id}"


@router.get(LIST_PATH)
def promotions_list(
    request: Request,
    state: str = "",
    cursor: str = "",
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    errors: dict[str, str] = {}
    wanted = {s.lower(): s for s in STATES}.get(state.strip().lower()) if state else None
    if state and wanted is None:
        errors["state"] = f"state: unknown state {state[:40]!r}; one of {', '.join(STATES)}"
    items: list[PromotionRecord] = []
    next_cursor = None
    try:
        with context.database.session(readonly=True) as s:
            page = store.list_promotions(s, state=wanted, limit=PAGE_SIZE, cursor=cursor or None)
        items, next_cursor = list(page.items), page.next_cursor
    except InvalidCursorError as exc:
        errors["cursor"] = f"cursor: {exc}"
    return render(
        request,
        "promotions.html",
        user=user,
        active="promotions",
        items=items,
        next_cursor=next_cursor,
        state=wanted or "",
        states=STATES,
        errors=errors,
        list_path=LIST_PATH,
    )


def _resolve_id(context: ApiContext, ref: str) -> str:
    """A whole id, or the one promotion whose id starts with `ref` (as the API)."""
    with context.database.session(readonly=True) as s:
        matches = promotion_ids_with_prefix(s, ref)
    if ref in matches or len(matches) != 1:
        return ref
    return matches[0]


def _view(context: ApiContext, user: WebUser, ref: str) -> PromotionView:
    promotion_id = _resolve_id(context, ref)
    with context.database.session(readonly=True) as s:
        record = store.get_promotion(s, promotion_id)
        if record is None:
            raise UiError(404, f"no promotion {ref[:60]!r}")
        return promotion_view(
            context.current_project, s, record, user.principal.caller(), context.now()
        )


def _page(
    request: Request,
    user: WebUser,
    view: PromotionView,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
    notice: str = "",
) -> Response:
    fragment = request.headers.get("HX-Request") == "true" and request.method == "GET"
    strategy = strategy_view(view.promotion, view.steps)
    return render(
        request,
        "_promotion.html" if fragment else "promotion.html",
        user=user,
        active="promotions",
        view=view,
        strategy=strategy,
        strategy_refusal=_strategy_refusal(user, view, strategy is not None and strategy.steerable),
        errors=errors or {},
        notice=notice,
        status=status,
        path=promotion_path(view.promotion.id),
        list_path=LIST_PATH,
    )


def _strategy_refusal(user: WebUser, view: PromotionView, steerable: bool) -> str:
    """Why Resume and Skip step are disabled ("" when they are not): the strategy is not
    taking steps, or the caller is not a promoter in the promotion's environment. What
    the strategy itself refuses (no pause to resume) comes back from the engine."""
    if view.promotion.state != "Deploying" or not steerable:
        return "no strategy of this promotion is taking steps"
    try:
        permit(user, Role.PROMOTER, [view.promotion.environment])
    except Refusal as refusal:
        return refusal.first()[1]
    return ""


async def _steer(
    request: Request, user: WebUser, context: ApiContext, promotion_id: str, action: str
) -> Response:
    """Resume or skip-step: the API's role check and engine call."""
    view = await run_in_threadpool(_view, context, user, promotion_id)
    record = view.promotion
    actor = user.principal.caller().actor
    try:
        permit(user, Role.PROMOTER, [record.environment])
        engine = engine_of(context)
        if action == "resume":
            await run(lambda: engine.promotions.resume(record.id, actor=actor))
        else:
            await run(lambda: engine.promotions.skip_step(record.id, actor=actor))
    except Refusal as refusal:
        fresh = await run_in_threadpool(_view, context, user, record.id)
        return _page(request, user, fresh, errors={action: refusal.errors}, status=refusal.status)
    notice = STRATEGY_ACTIONS[action]
    return RedirectResponse(f"{promotion_path(record.id)}?notice={notice}", status_code=303)


@router.get(f"{LIST_PATH}/{{promotion_id}}")
async def promotion_page(
    request: Request,
    promotion_id: str,
    notice: str = "",
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    view = await run_in_threadpool(_view, context, user, promotion_id)
    return _page(request, user, view, notice=NOTICES.get(notice, ""))


def _request_for(
    context: ApiContext,
    user: WebUser,
    record: PromotionRecord,
    action: Action,
    form: dict[str, str],
) -> Callable[[], Awaitable[Any]]:
    """The engine request the API makes for `action`, with the form's fields validated
    first by the API's body models (nothing is called when they are wrong)."""
    actor = user.principal.caller().actor
    pid = record.id
    comment = ""
    if action == "approve":
        comment = parse_body(Decision, {"comment": form.get("comment", "")}).comment
    elif action == "reject":
        comment = parse_body(Rejection, {"reason": form.get("reason", "")}).reason
    elif action == "abort":
        comment = parse_body(Reason, {"reason": form.get("reason", "")}).reason
    elif action == "resolve":
        if form.get("passed") not in ("true", "false"):
            raise Refusal(422, {"passed": "passed: choose pass or fail"})
        comment = form.get("comment", "")[:2000]
    elif action == "rollback":
        if form.get("app", "") not in record.apps:
            app = form.get("app", "")[:63]
            raise Refusal(422, {"app": f"app: {app!r} is not an app of this promotion"})
        comment = parse_body(RollbackRequest, {"reason": form.get("reason", "")}).reason
    engine = engine_of(context)
    calls: dict[Action, Callable[[], Awaitable[Any]]] = {
        "approve": lambda: engine.promotions.approve(
            pid, actor=actor, decision="approve", comment=comment
        ),
        "reject": lambda: engine.promotions.approve(
            pid, actor=actor, decision="reject", comment=comment
        ),
        "abort": lambda: engine.promotions.abort(pid, actor=actor, reason=comment),
        "retry": lambda: engine.promotions.retry(pid, actor=actor),
        "resolve": lambda: engine.promotions.resolve_check(
            pid,
            form.get("check", ""),
            passed=form.get("passed") == "true",
            actor=actor,
            comment=comment,
        ),
        "rollback": lambda: engine.promotions.rollback(
            record.environment, form["app"], actor=actor, reason=comment
        ),
    }
    return calls[action]


@router.post(f"{LIST_PATH}/{{promotion_id}}/{{action}}")
async def promotion_action(
    request: Request,
    promotion_id: str,
    action: str,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    try:
        form = await read_form(request)
    except FormError as exc:
        raise UiError(400, str(exc)) from None
    verify_csrf(request, user, form)
    if action in STRATEGY_ACTIONS:
        return await _steer(request, user, context, promotion_id, action)
    if action not in ACTIONS:
        known = ", ".join((*ACTIONS, *STRATEGY_ACTIONS))
        raise UiError(404, f"no action {action[:30]!r}; one of {known}")
    chosen: Action = action
    view = await run_in_threadpool(_view, context, user, promotion_id)
    record = view.promotion
    try:
        permit(user, ACTION_ROLES[chosen], [record.environment])
        result = await run(_request_for(context, user, record, chosen, form))
    except Refusal as refusal:
        fresh = await run_in_threadpool(_view, context, user, record.id)
        return _page(request, user, fresh, errors={chosen: refusal.errors}, status=refusal.status)
    # Retry and rollback create a new promotion: go there; else back to this one.
    target = result.id if isinstance(result, PromotionRecord) else record.id
    done = {"approve": "approved", "reject": "rejected", "abort": "aborted"}.get(chosen, "")
    done = "resolved" if chosen == "resolve" else done
    suffix = f"?notice={done}" if done and target == record.id else ""
    return RedirectResponse(promotion_path(target) + suffix, status_code=303)


__all__ = ["LIST_PATH", "promotion_path", "router"]
