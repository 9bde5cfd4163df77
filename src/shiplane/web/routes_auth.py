"""Sign-in (an API token in a form) and sign-out."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.api.sso import WEB_CREATOR
from shiplane.store import tokens as token_store
from shiplane.store import web_sessions
from shiplane.web.auth import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    WebUser,
    authenticate_token,
    clear_cookie,
    cookie_secure,
    current_user,
    new_sign_in_nonce,
    require_user,
    set_cookie,
    verify_csrf,
)
from shiplane.web.csrf import CSRF_FIELD, csrf_matches
from shiplane.web.forms import FormError, read_form
from shiplane.web.paths import SIGN_IN_PATH, SIGN_OUT_PATH, SSO_START_PATH, UI_HOME, safe_next
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)

# The API's words for a token it does not accept (api/auth.py).
UNKNOWN_TOKEN = "the token is unknown, revoked or expired"  # noqa: S105 - a message


def _sign_in_page(
    request: Request,
    context: ApiContext,
    *,
    next_path: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    nonce = new_sign_in_nonce()
    response = render(
        request,
        "login.html",
        status=status,
        nonce=nonce,
        next_path=next_path,
        error=error,
        sso_enabled=project_has_sso(context),
        sso_start=f"{SSO_START_PATH}?{urlencode({'next': next_path})}",
    )
    secure = cookie_secure(request, context)
    set_cookie(response, SIGN_IN_COOKIE, nonce, secure=secure, max_age=3600)
    return response


@router.get(SIGN_IN_PATH)
def sign_in_form(
    request: Request, next: str | None = None, context: ApiContext = Depends(get_context)
) -> Response:
    target = safe_next(next)
    if current_user(request, context) is not None:
        return RedirectResponse(target, status_code=303)
    return _sign_in_page(request, context, next_path=target)


@router.post(SIGN_IN_PATH)
async def sign_in(request: Request, context: ApiContext = Depends(get_context)) -> Response:
    try:
        form = await read_form(request)
    except FormError as exc:
        return _sign_in_page(request, context, next_path=UI_HOME, error=str(exc), status=400)
    target = safe_next(form.get("next"))
    if not csrf_matches(request.cookies.get(SIGN_IN_COOKIE, ""), form.get(CSRF_FIELD)):
        return _sign_in_page(
            request,
            context,
            next_path=target,
            error="the sign-in form expired or came from elsewhere: sign in again",
            status=403,
        )
    token = form.get("token", "").strip()
    if not token:
        return _sign_in_page(
            request, context, next_path=target, error="enter an API token", status=422
        )
    previous = request.cookies.get(SESSION_COOKIE)
    secret = await run_in_threadpool(_open_session, context, token, previous)
    if secret is None:
        return _sign_in_page(request, context, next_path=target, error=UNKNOWN_TOKEN, status=401)
    response = RedirectResponse(target, status_code=303)
    secure = cookie_secure(request, context)
    lifetime = int(web_sessions.SESSION_LIFETIME.total_seconds())
    set_cookie(response, SESSION_COOKIE, secret, secure=secure, max_age=lifetime)
    clear_cookie(response, SIGN_IN_COOKIE, secure=secure)
    return response


def _open_session(context: ApiContext, token: str, previous: str | None) -> str | None:
    """A new session's secret for an active token, or None. A session the browser still
    had ends: a sign-in always starts a fresh one (no session fixation)."""
    principal = authenticate_token(context, token)
    if principal is None:
        return None
    with context.database.session() as session:
        if previous:
            web_sessions.delete_session(session, previous)
        secret, _expires_at = web_sessions.create_session(session, principal.token_id)
    return secret


def project_has_sso(context: ApiContext) -> bool:
    project = context.current_project
    return project is not None and project.sso is not None


def _close_session(context: ApiContext, secret: str) -> None:
    """End the session; a token single sign-on minted for it ends with it (it was never
    shown to anyone, and must not outlive the sign-out)."""
    with context.database.session() as session:
        record = web_sessions.session_token(session, secret)
        web_sessions.delete_session(session, secret)
        if record is not None and record.created_by == WEB_CREATOR:
            token_store.revoke_token(session, record.id)


@router.post(SIGN_OUT_PATH)
async def sign_out(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    try:
        form = await read_form(request)
    except FormError:
        form = {}
    verify_csrf(request, user, form)
    await run_in_threadpool(_close_session, context, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    clear_cookie(response, SESSION_COOKIE, secure=cookie_secure(request, context))
    return response
