"""Signing in to the UI through single sign-on (docs/sso.md): the authorization code
flow with PKCE, state and nonce.

`start` keeps the sign-in's state, nonce, PKCE verifier and destination in a short-lived
HttpOnly cookie scoped to the SSO paths and sends the browser to the provider; the
provider sends it back to `callback`, which checks the state, has the code exchanged and
the ID token validated (api/sso.py), and opens a session for the person's token. Any
refusal is an error page, and no session is opened. The cookie is SameSite=Lax: the
provider's redirect back is a cross-site navigation, which Strict cookies do not follow.
For the same reason the callback does not redirect to the UI (the Strict session cookie
would not be sent on that hop): it answers a page that moves on by itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.api.oidc import Pkce, SignInRefused, SsoUnavailable
from shiplane.api.sso import WEB_CREATOR, sso_of
from shiplane.domain.errors import ShiplaneError
from shiplane.store import web_sessions
from shiplane.web.auth import (
    SESSION_COOKIE,
    UiError,
    clear_cookie,
    cookie_secure,
    set_cookie,
)
from shiplane.web.paths import SSO_CALLBACK_PATH, SSO_PREFIX, SSO_START_PATH, safe_next
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)

SSO_COOKIE = "shiplane_sso"
# Long enough to sign in at the provider (and consent), short enough to go stale.
SSO_COOKIE_AGE = 600


def redirect_uri(request: Request, context: ApiContext) -> str:
    """The callback as the provider must know it: under the public URL when one is set."""
    base = context.settings.public_url or str(request.base_url).rstrip("/")
    return base + SSO_CALLBACK_PATH


def _pack(pkce: Pkce, next_path: str) -> str:
    data = {"s": pkce.state, "n": pkce.nonce, "v": pkce.verifier, "next": next_path}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unpack(value: str) -> tuple[Pkce, str] | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = json.loads(raw)
        return Pkce(str(data["s"]), str(data["n"]), str(data["v"])), safe_next(data.get("next"))
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None


@router.get(SSO_START_PATH)
async def sso_start(
    request: Request, next: str | None = None, context: ApiContext = Depends(get_context)
) -> Response:
    service = sso_of(context)
    if service is None:
        raise UiError(404, "single sign-on is not configured (sso in shiplane.yaml)")
    pkce = Pkce.new()
    scopes = service.config.scopes
    try:
        target = await run_in_threadpool(
            service.client.authorization_url, redirect_uri(request, context), pkce, scopes
        )
    except SsoUnavailable as exc:
        raise UiError(502, f"single sign-on is unavailable: {exc.message}") from None
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SSO_COOKIE,
        _pack(pkce, safe_next(next)),
        max_age=SSO_COOKIE_AGE,
        path=SSO_PREFIX,
        secure=cookie_secure(request, context),
        httponly=True,
        samesite="lax",
    )
    return response


def _refused(request: Request, context: ApiContext, status: int, message: str) -> Response:
    response = render(request, "error.html", user=None, status=status, message=message)
    response.delete_cookie(
        SSO_COOKIE, path=SSO_PREFIX, secure=cookie_secure(request, context), httponly=True
    )
    return response


@router.get(SSO_CALLBACK_PATH)
async def sso_callback(request: Request, context: ApiContext = Depends(get_context)) -> Response:
    service = sso_of(context)
    if service is None:
        raise UiError(404, "single sign-on is not configured (sso in shiplane.yaml)")
    started = _unpack(request.cookies.get(SSO_COOKIE, ""))
    params = request.query_params
    if started is None:
        return _refused(
            request, context, 403,
            "this sign-in did not start here or took too long: sign in again",
        )  # fmt: skip
    pkce, next_path = started
    if not hmac.compare_digest(params.get("state", ""), pkce.state):
        return _refused(
            request, context, 403,
            "the sign-in's state does not match (forged or stale): sign in again",
        )  # fmt: skip
    if params.get("error"):
        detail = params.get("error_description") or params["error"]
        return _refused(request, context, 403, f"the SSO provider refused: {detail[:300]}")
    code = params.get("code", "")
    if not code:
        return _refused(request, context, 400, "the SSO provider sent no authorization code")
    lifetime = web_sessions.SESSION_LIFETIME
    try:
        signed_in = await run_in_threadpool(
            service.sign_in,
            context.database,
            code=code,
            redirect_uri=redirect_uri(request, context),
            verifier=pkce.verifier,
            nonce=pkce.nonce,
            lifetime=lifetime,
            created_by=WEB_CREATOR,
        )
    except SignInRefused as exc:
        return _refused(request, context, 403, f"sign-in refused: {exc.message}")
    except SsoUnavailable as exc:
        return _refused(request, context, 502, f"single sign-on is unavailable: {exc.message}")
    except ShiplaneError as exc:
        return _refused(request, context, 400, exc.message)
    previous = request.cookies.get(SESSION_COOKIE)
    secret = await run_in_threadpool(
        _open_session, context, signed_in.record.id, previous, lifetime
    )
    secure = cookie_secure(request, context)
    response = render(request, "sso_done.html", user=None, next_path=next_path)
    set_cookie(
        response, SESSION_COOKIE, secret, secure=secure, max_age=int(lifetime.total_seconds())
    )
    response.delete_cookie(SSO_COOKIE, path=SSO_PREFIX, secure=secure, httponly=True)
    clear_cookie(response, "shiplane_signin", secure=secure)
    return response


def _open_session(
    context: ApiContext, token_id: str, previous: str | None, lifetime: timedelta
) -> str:
    """A fresh session for the person's token (a session the browser had ends)."""
    with context.database.session() as session:
        if previous:
            web_sessions.delete_session(session, previous)
        secret, _ = web_sessions.create_session(session, token_id, lifetime=lifetime)
    return secret
