"""`install_ui(app)`: adds the web UI to the API's app (the CLI passes it to
`create_app` when `shiplane serve` runs with the UI on)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from shiplane.web import (
    routes_approvals,
    routes_assets,
    routes_audit,
    routes_auth,
    routes_environments,
    routes_events,
    routes_insights,
    routes_matrix,
    routes_pipeline,
    routes_promote,
    routes_promotions,
    routes_releases,
    routes_sso,
)
from shiplane.web.auth import SignInRequired, UiError, current_user
from shiplane.web.compression import UiGZipMiddleware
from shiplane.web.paths import SIGN_IN_PATH, UI_HOME, UI_PREFIX
from shiplane.web.security import SecurityHeadersMiddleware
from shiplane.web.templating import make_web_context, render

# One module per view; a new view adds its module here and its entry in nav.NAV.
ROUTE_MODULES = (
    routes_assets,
    routes_auth,
    routes_sso,
    routes_events,
    routes_pipeline,
    routes_matrix,
    routes_releases,
    routes_promote,
    routes_promotions,
    routes_approvals,
    routes_environments,
    routes_audit,
    routes_insights,
)


def install_ui(app: FastAPI) -> None:
    app.state.shiplane_web = make_web_context()
    app.state.ui_home = UI_HOME
    for module in ROUTE_MODULES:
        app.include_router(module.router)
    app.add_api_route(UI_PREFIX, _to_home, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(UiError, _ui_error)  # type: ignore[arg-type]
    app.add_middleware(SecurityHeadersMiddleware, prefix=UI_PREFIX)
    app.add_middleware(UiGZipMiddleware, prefix=UI_PREFIX)


def _to_home() -> Response:
    return RedirectResponse(UI_HOME, status_code=308)


def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    target = f"{SIGN_IN_PATH}?{urlencode({'next': exc.next_path})}"
    if request.headers.get("HX-Request") == "true":
        # htmx follows HX-Redirect with a full page load (a fragment must not become
        # the sign-in page inside the current one).
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.url.path.endswith("/events"):
        return Response("sign in first\n", status_code=401, media_type="text/plain")
    return RedirectResponse(target, status_code=303)


def _ui_error(request: Request, exc: UiError) -> Response:
    context = request.app.state.shiplane
    user = current_user(request, context) if exc.status != 401 else None
    return render(request, "error.html", user=user, status=exc.status, message=exc.message)
