"""The web UI in Chromium against a real `shiplane serve`: sign in by keyboard, the
pipeline and the matrix, a live update without reload, no CSP violation, and no serious
or critical axe-core violation on any view. Screenshots go to screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import ConsoleMessage, Page, expect

from shiplane.domain.promotion_controls import Freeze
from shiplane.store import audit, matrix, promotion_controls
from shiplane.store.db import Database
from tests.e2e.web.browser import assert_accessible, screenshot
from tests.e2e.web.conftest import sign_in
from tests.support.serverproc import ServerProcess


def _csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            errors.append(f"{message.text} at {message.location.get('url')}")

    page.on("console", collect)
    return errors


def test_sign_in_page_explains_a_wrong_token_beside_the_field(
    page: Page, ui_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    page.goto(ui_server.url + "/ui/")
    expect(page).to_have_url(ui_server.url + "/ui/login?next=%2Fui%2F")
    assert_accessible(page)
    screenshot(page, "sign-in")
    page.get_by_label("API token").fill("shp_wrong_token_0000000000000000000000")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#token-error")
    expect(error).to_have_text("the token is unknown, revoked or expired")
    expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    assert csp == []


def test_pipeline_shows_each_environment_and_updates_live(
    page: Page, ui_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    sign_in(page, ui_server)
    expect(page.get_by_role("heading", name="dev", exact=True)).to_be_visible()
    prod = page.locator("#env-prod")
    expect(prod).to_contain_text("waiting for 1 more approval from release-managers")
    expect(page.locator("#env-staging")).to_contain_text("rolled back")
    expect(page.locator("#env-dev")).to_contain_text("Degraded")
    expect(page.locator("#live-status")).to_contain_text("Live:")
    assert_accessible(page)
    screenshot(page, "pipeline")

    # Something changes on the server: the prod node refreshes without a page load.
    page.evaluate("window.__shiplaneNoReload = true")
    database = Database.from_url(ui_server.database_url)
    try:
        with database.session() as s:
            promotion_controls.set_freeze(
                s,
                Freeze(
                    "environment", "prod", "change freeze for the audit", "olga", datetime.now(UTC)
                ),
            )
            audit.append_event(
                s,
                actor="olga",
                action="environment.frozen",
                subject="prod",
                details={"reason": "change freeze for the audit"},
                environment="prod",
            )
    finally:
        database.close()
    expect(prod).to_contain_text("change freeze for the audit", timeout=20_000)
    expect(page.locator("#live-status")).to_contain_text("Last change: environment.frozen")
    assert page.evaluate("window.__shiplaneNoReload") is True
    assert csp == []


def test_matrix_filters_and_pages_by_keyboard_without_reloading(
    page: Page, ui_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    sign_in(page, ui_server)
    page.get_by_role("link", name="Matrix").click()
    expect(page).to_have_url(ui_server.url + "/ui/matrix")
    table = page.locator("#matrix-table")
    expect(table).to_contain_text("2 apps")
    expect(table).to_contain_text("v1.4.0")

    # Interactions come before axe runs on the page: axe's own probing of the DOM is not
    # the page's doing and must not count against its CSP.
    page.evaluate("window.__shiplaneNoReload = true")
    page.get_by_label("Failing").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Filter").focus()
    page.keyboard.press("Enter")
    expect(table).to_contain_text("1 app")
    expect(page.get_by_role("rowheader", name="payments")).to_be_visible()
    expect(page.get_by_role("rowheader", name="checkout")).to_have_count(0)
    expect(page).to_have_url(ui_server.url + "/ui/matrix?app=&environment=&failing=1&size=50")
    assert page.evaluate("window.__shiplaneNoReload") is True
    assert csp == []
    assert_accessible(page)

    page.goto(ui_server.url + "/ui/matrix")
    expect(table).to_contain_text("2 apps")
    assert_accessible(page)
    screenshot(page, "matrix")

    # A wrong filter is explained beside its field and changes nothing else.
    page.goto(ui_server.url + "/ui/matrix?environment=prd")
    expect(page.locator("#filter-environment-error")).to_contain_text("unknown environment 'prd'")
    assert_accessible(page)


def test_matrix_table_refreshes_live_with_its_filters(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server)
    page.goto(ui_server.url + "/ui/matrix?environment=prod")
    table = page.locator("#matrix-table")
    expect(table).to_contain_text("2 apps")
    expect(page.locator("#live-status")).to_contain_text("Live:")
    page.evaluate("window.__shiplaneNoReload = true")
    database = Database.from_url(ui_server.database_url)
    try:
        with database.session() as s:
            matrix.record_deployment(
                s,
                environment="prod",
                app="payments",
                release_id=None,
                sync_status="OutOfSync",
                health="Progressing",
            )
            audit.append_event(
                s,
                actor="shiplane",
                action="deploy.started",
                subject="prod/payments",
                details={},
                environment="prod",
                app="payments",
            )
    finally:
        database.close()
    expect(table).to_contain_text("Progressing", timeout=20_000)
    # Still the prod column only: the refresh kept the filters.
    expect(page.get_by_role("columnheader", name="dev")).to_have_count(0)
    assert page.evaluate("window.__shiplaneNoReload") is True


def test_sign_out_by_keyboard_ends_the_session(page: Page, ui_server: ServerProcess) -> None:
    sign_in(page, ui_server)
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/login")
    page.goto(ui_server.url + "/ui/matrix")
    expect(page).to_have_url(ui_server.url + "/ui/login?next=%2Fui%2Fmatrix")
