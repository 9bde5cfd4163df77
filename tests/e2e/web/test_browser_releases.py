"""The release, promote drawer and promotion views in Chromium against a real `shiplane
serve` seeded through the store (no GitOps repository: the drawer says so and keeps its
confirm button disabled): contents, keyboard use, no CSP violation, and no serious or
critical axe-core violation on any of them. Screenshots go to screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import ConsoleMessage, Page, expect

from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.store import promotions as store
from shiplane.store.db import Database
from tests.e2e.web.browser import assert_accessible, screenshot
from tests.e2e.web.conftest import sign_in
from tests.support.serverproc import ServerProcess

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            errors.append(message.text)

    page.on("console", collect)
    return errors


def _failed_promotion(server: ServerProcess) -> str:
    """A promotion of v1.4.0 to dev whose Prometheus check failed (three values)."""
    database = Database.from_url(server.database_url)
    try:
        with database.session() as s:
            release_id = store.get_promotion(s, "prm-e2e-waiting").release_id  # type: ignore[union-attr]
            if store.get_promotion(s, "prm-e2e-failed") is not None:
                return "prm-e2e-failed"
            later = NOW + timedelta(minutes=3)
            p = Promotion(
                id="prm-e2e-failed",
                release_id=release_id,
                environment="dev",
                apps=("checkout",),
                requested_by="shiplane",
                created_at=NOW,
                state=PromotionState.FAILED,
                reason="verification failed: error rate 0.4 > 0.05",
                updated_at=later,
            )
            store.insert_promotion(s, p, next_check_at=None, data={})
            result = {
                "check": "errors",
                "kind": "prometheus",
                "outcome": "failed",
                "reason": "error rate 0.4 > 0.05",
                "measurements": [
                    {
                        "time": (NOW + timedelta(seconds=10 * i)).isoformat(),
                        "value": v,
                        "outcome": o,
                    }
                    for i, (v, o) in enumerate(
                        [(0.01, "passed"), (0.03, "passed"), (0.4, "failed")]
                    )
                ],
            }
            store.add_step(s, p.id, Step("-> Deploying", NOW, NOW, "succeeded", "gates passed"))
            store.add_step(
                s, p.id, Step("check errors", later, later, "failed", "", {"result": result})
            )
            store.add_step(
                s, p.id, Step("-> Failed", later, later, "succeeded", "verification failed")
            )
    finally:
        database.close()
    return "prm-e2e-failed"


def test_release_pages_and_the_drawer_by_keyboard(page: Page, ui_server: ServerProcess) -> None:
    csp = _csp_errors(page)
    sign_in(page, ui_server)
    page.get_by_role("link", name="Releases").click()
    expect(page).to_have_url(ui_server.url + "/ui/releases")
    expect(page.get_by_role("link", name="v1.4.0")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "releases")

    page.get_by_role("link", name="v1.4.0").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Release v1.4.0")).to_be_visible()
    expect(page.locator("#artifacts")).to_contain_text("sha256:" + "c" * 64)
    expect(page.locator("#running")).to_contain_text("dev/checkout")
    expect(page.locator("#running")).to_contain_text("staging/checkout")
    expect(page.locator("#release-timeline")).to_contain_text("prod")
    assert_accessible(page)
    screenshot(page, "release")

    # The drawer opens in the page (htmx), by keyboard; without a GitOps repository it
    # says so and the confirm button stays disabled with that reason.
    page.evaluate("window.__shiplaneNoReload = true")
    page.get_by_label("Into environment").focus()
    page.keyboard.press("End")  # the last environment: prod
    page.get_by_role("button", name="Preview promotion").focus()
    page.keyboard.press("Enter")
    drawer = page.locator("#promote-drawer")
    expect(drawer).to_contain_text("no GitOps repository")
    expect(page.get_by_role("button", name="Confirm promotion")).to_be_disabled()
    expect(page.locator("#confirm-why")).to_be_visible()
    assert page.evaluate("window.__shiplaneNoReload") is True
    assert csp == []
    assert_accessible(page)
    screenshot(page, "promote-drawer-no-repo")


def test_promotion_pages_show_checks_and_disabled_actions_with_reasons(
    page: Page, ui_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    failed = _failed_promotion(ui_server)
    sign_in(page, ui_server)
    page.goto(ui_server.url + "/ui/promotions?state=Failed")
    expect(page.get_by_role("link", name=failed)).to_be_visible()
    expect(page.get_by_role("link", name="prm-e2e-waiting")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "promotions")

    page.get_by_role("link", name=failed).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#promotion-state")).to_have_text("Failed")
    chart = page.get_by_role("img", name="check errors: 3 measurements from 0.01 to 0.4, last 0.4")
    expect(chart).to_be_visible()
    expect(page.locator("#abort-why")).to_contain_text("only a pending, waiting, deploying")
    expect(page.get_by_role("button", name="Abort")).to_be_disabled()
    expect(page.get_by_role("button", name="Retry")).to_be_enabled()
    assert csp == []
    assert_accessible(page)
    screenshot(page, "promotion-failed")

    page.goto(ui_server.url + "/ui/promotions/prm-e2e-waiting")
    expect(page.locator("#promotion-state")).to_have_text("Pending")
    expect(page.locator("#promotion")).to_have_attribute(
        "hx-trigger",
        "shiplane-env-prod from:body delay:300ms, shiplane-env-all from:body delay:300ms",
    )
    assert_accessible(page)


def test_a_pipeline_node_opens_the_drawer_for_its_environment(
    page: Page, ui_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    sign_in(page, ui_server)
    page.get_by_role("link", name="Promote a release into staging").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(ui_server.url + "/ui/promote?environment=staging")
    expect(page.get_by_label("Target environment")).to_have_value("staging")
    page.get_by_label("Release", exact=True).focus()
    page.keyboard.type("v1.4.0")
    page.get_by_role("button", name="Preview", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#drawer-error")).to_contain_text("no GitOps repository")
    expect(page.get_by_role("button", name="Confirm promotion")).to_be_disabled()
    assert csp == []
    assert_accessible(page)
    screenshot(page, "promote-page")
