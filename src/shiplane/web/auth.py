"""Signing in to the UI with an API token, the session cookie, CSRF and roles.

The token is checked by the store exactly as the API checks a bearer token; a session
then stands for that token (its name is the audit actor, its role and environment scope
apply), and roles are checked by the API's own `check_role`. The cookie is HttpOnly,
SameSite=Strict, Secure under https (the request's scheme or an https public URL).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, Request, Response

from shiplane.api.auth import Principal, check_role, principal_of
from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import ProblemError
from shiplane.domain.roles import Role
from shiplane.store import tokens as token_store
from shiplane.store import web_sessions
from shiplane.web.csrf import CSRF_FIELD, CSRF_HEADER, csrf_matches, csrf_token
from shiplane.web.paths import UI_PREFIX

SESSION_COOKIE = "shiplane_session"
# Before there is a session, the sign-in form is protected by a double-submit token:
# this cookie holds the value the form must send back.
SIGN_IN_COOKIE = "shiplane_signin"


@dataclass(frozen=True)
class WebUser:
    """The signed-in browser: the API principal its token stands for, and its CSRF token."""

    principal: Principal
    csrf: str


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class UiError(Exception):
    """An error page with a status (403 for a missing role or CSRF token, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def cookie_secure(request: Request, context: ApiContext) -> bool:
    public_url = context.settings.public_url or ""
    return request.url.scheme == "https" or public_url.startswith("https://")


def current_user(request: Request, context: ApiContext) -> WebUser | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    with context.database.session(readonly=True) as session:
        record = web_sessions.session_token(session, secret)
    if record is None:
        return None
    return WebUser(principal=principal_of(record), csrf=csrf_token(secret))


def require_user(needed: Role = Role.VIEWER) -> Callable[..., WebUser]:
    """A dependency: the signed-in user with at least `needed`, else the sign-in page
    (no session) or a 403 page with the API's words (role too low)."""

    def dependency(request: Request, context: ApiContext = Depends(get_context)) -> WebUser:
        user = current_user(request, context)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(target)
        try:
            check_role(user.principal, needed)
        except ProblemError as exc:
            raise UiError(exc.status, exc.detail) from None
        return user

    return dependency


def verify_csrf(request: Request, user: WebUser, form: dict[str, str] | None = None) -> None:
    """Every state-changing request carries the session's CSRF token (form field or
    htmx header); without it nothing changes."""
    given = request.headers.get(CSRF_HEADER) or (form or {}).get(CSRF_FIELD)
    if not csrf_matches(user.csrf, given):
        raise UiError(403, "the form is missing its CSRF token or it is stale: reload the page")


def authenticate_token(context: ApiContext, plaintext: str) -> Principal | None:
    """The principal of an active API token (the API's check), or None."""
    with context.database.session(readonly=True) as session:
        record = token_store.authenticate(session, plaintext, touch=False)
    if record is None:
        return None
    if token_store.needs_touch(record.last_used_at, datetime.now(UTC)):
        with context.database.session() as session:
            token_store.mark_used(session, str(record.id))
    return principal_of(record)


def new_sign_in_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    secure: bool,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=UI_PREFIX,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path=UI_PREFIX, secure=secure, httponly=True, samesite="strict")
