"""Signing in with an API token, the session cookie, sign-out, CSRF and the headers
every UI response carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import APIRouter, Depends, Response
from sqlalchemy import update

from shiplane.domain.roles import Role
from shiplane.store import tokens
from shiplane.store.models import WebSession
from shiplane.web.auth import WebUser, require_user
from shiplane.web.security import CONTENT_SECURITY_POLICY
from tests.unit.api.apphelpers import project
from tests.unit.web.uihelpers import ui_app


def test_pages_send_a_browser_to_sign_in_and_back_where_it_was(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        page = ui.client.get("/ui/matrix?app=pay", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/ui/login?next=%2Fui%2Fmatrix%3Fapp%3Dpay"
        # htmx gets a redirect header instead of a sign-in page inside the current one.
        fragment = ui.client.get("/ui/matrix", headers={"HX-Request": "true"})
        assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith(
            "/ui/login"
        )
        signed_in = ui.sign_in(ui.token("viewer", name="vera"), next_path="/ui/matrix?app=pay")
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/ui/matrix?app=pay"
        home = ui.client.get("/ui/")
    assert home.status_code == 200 and "vera" in home.text and "(viewer)" in home.text


def test_the_session_cookie_is_httponly_strict_and_stored_only_as_a_hash(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        token = ui.token("admin")
        response = ui.sign_in(token)
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("shiplane_session=")
        )
        secret = cookie.split(";")[0].split("=", 1)[1]
        with ui.database.session() as s:
            stored = [row.session_hash for row in s.query(WebSession)]
        page = ui.client.get("/ui/")
        # Signing in again replaces the session the browser still has (no fixation, no
        # pile-up): a sign-in form fetched without it, posted with it.
        ui.client.cookies.clear()
        form = ui.client.get("/ui/login")
        ui.client.cookies.set("shiplane_session", secret, path="/ui")
        nonce = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        again = ui.client.post(
            "/ui/login", data={"csrf_token": nonce, "token": token}, follow_redirects=False
        )
        assert again.status_code == 303
        with ui.database.session() as s:
            after_second = [row.session_hash for row in s.query(WebSession)]
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/ui" in attributes and "secure" not in attributes
    assert len(stored) == 1 and secret not in stored[0] and len(stored[0]) == 64
    assert len(after_second) == 1 and after_second != stored
    # Neither the token nor the session secret is ever rendered.
    assert token not in page.text and secret not in page.text


def test_under_https_the_cookie_is_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    with ui_app(tmp_path, project(), base_url="https://testserver") as ui:
        response = ui.sign_in(ui.token())
        page = ui.client.get("/ui/")
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("shiplane_session=")
    )
    assert "secure" in session_cookie.lower()
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_an_https_public_url_makes_the_cookie_secure_behind_a_proxy(tmp_path: Path) -> None:
    # The proxy speaks plain http to the server; the browser sees https.
    with ui_app(tmp_path, project(), public_url="https://shiplane.example") as ui:
        response = ui.client.get("/ui/login")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("shiplane_signin=") and "secure" in cookie.lower()


def test_a_wrong_token_is_refused_beside_the_field_and_opens_no_session(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        wrong = "shp_not_a_real_token_at_all_000000000000"
        response = ui.sign_in(wrong)
        empty = ui.sign_in("   ")
        with ui.database.session() as s:
            sessions = s.query(WebSession).count()
    assert response.status_code == 401
    assert 'id="token-error"' in response.text
    assert "the token is unknown, revoked or expired" in response.text
    assert wrong not in response.text
    assert empty.status_code == 422 and "enter an API token" in empty.text
    assert sessions == 0


def test_sign_in_without_the_form_nonce_is_refused(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        response = ui.client.post(
            "/ui/login", data={"token": ui.token(), "csrf_token": "forged"}, follow_redirects=False
        )
    assert response.status_code == 403
    assert "shiplane_session" not in response.headers.get("set-cookie", "")


def test_sign_out_needs_the_csrf_token_and_ends_the_session(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        ui.sign_in(ui.token())
        csrf = ui.csrf()
        forged = ui.client.post("/ui/logout", data={"csrf_token": "0" * 64})
        still_in = ui.client.get("/ui/", follow_redirects=False)
        by_header = ui.client.post(
            "/ui/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False
        )
        after = ui.client.get("/ui/", follow_redirects=False)
        with ui.database.session() as s:
            remaining = s.query(WebSession).count()
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert still_in.status_code == 200
    assert by_header.status_code == 303 and by_header.headers["location"] == "/ui/login"
    assert after.status_code == 303 and remaining == 0


def test_revoking_the_token_or_passing_the_expiry_ends_the_session(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        ui.sign_in(ui.token("viewer", name="rev"))
        assert ui.client.get("/ui/", follow_redirects=False).status_code == 200
        with ui.database.session() as s:
            record = next(t for t in tokens.list_tokens(s) if t.name == "rev")
            tokens.revoke_token(s, record.id)
        revoked = ui.client.get("/ui/", follow_redirects=False)
        ui.sign_in(ui.token("viewer", name="late"))
        with ui.database.session() as s:
            s.execute(
                update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        expired = ui.client.get("/ui/", follow_redirects=False)
    assert revoked.status_code == 303 and expired.status_code == 303


def test_ui_responses_carry_a_strict_csp_and_the_usual_headers(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        login = ui.client.get("/ui/login")
        ui.sign_in(ui.token())
        home = ui.client.get("/ui/")
        api = ui.client.get("/healthz")
    for page in (login, home):
        csp = page.headers["content-security-policy"]
        assert csp == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
    # No inline script anywhere: scripts come from hashed files of this origin.
    assert "<script>" not in home.text and '<script src="/ui/assets/' in home.text
    assert "content-security-policy" not in api.headers


def test_root_sends_browsers_to_the_ui_and_api_clients_to_the_links(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        browser = ui.client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        client = ui.client.get("/")
        bare = ui.client.get("/ui", follow_redirects=False)
        docs = ui.client.get("/api/v1/docs")
    assert browser.status_code == 303 and browser.headers["location"] == "/ui/"
    assert client.json()["links"]["docs"] == "/api/v1/docs"
    assert browser.headers["vary"] == client.headers["vary"] == "Accept"
    assert bare.status_code == 308 and bare.headers["location"] == "/ui/"
    assert docs.status_code == 200


def test_assets_are_served_immutable_under_their_hash_and_stale_urls_404(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        page = ui.client.get("/ui/login")
        css_url = next(
            part.split('"')[0] for part in page.text.split('href="')[1:] if "app.css" in part
        )
        css = ui.client.get(css_url)
        again = ui.client.get(css_url, headers={"If-None-Match": css.headers["etag"]})
        stale = ui.client.get("/ui/assets/0000000000000000/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert again.status_code == 304
    assert stale.status_code == 404


def test_a_role_too_low_gets_the_apis_words_on_a_403_page(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        router = APIRouter()

        @router.get("/ui/test-admin-only")
        def admin_only(user: WebUser = Depends(require_user(Role.ADMIN))) -> Response:
            return Response(user.principal.name)

        ui.client.app.include_router(router)  # type: ignore[attr-defined]
        ui.sign_in(ui.token("viewer", name="vic"))
        refused = ui.client.get("/ui/test-admin-only")
        ui.client.cookies.clear()
        ui.sign_in(ui.token("admin", name="ada"))
        allowed = ui.client.get("/ui/test-admin-only")
    assert refused.status_code == 403
    assert "token &#39;vic&#39; has role &#39;viewer&#39;" in refused.text
    assert "needs &#39;admin&#39; or higher" in refused.text
    assert allowed.status_code == 200 and allowed.text == "ada"


def test_the_event_stream_needs_a_session(tmp_path: Path) -> None:
    with ui_app(tmp_path, project()) as ui:
        response = ui.client.get("/ui/events")
    assert response.status_code == 401 and "sign in" in response.text
