"""A canary on the web, in Chromium against a real `shiplane serve` (seeded through the
store, as the engine writes a canary's progress): the promotion page's Strategy section
(step n/m, weight, pause, analysis, ended steps) following a new step live without a
reload, `canary 50%` in the matrix, Resume as a form POST coming back with the server's
refusal beside the button (this server has no GitOps repository, so no engine), and no
serious or critical axe-core violation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.store import audit, releases
from shiplane.store import promotions as store
from shiplane.store.db import Database
from tests.e2e.web.browser import assert_accessible, screenshot
from tests.e2e.web.conftest import sign_in
from tests.support.serverproc import ServerProcess
from tests.unit.web.test_strategy_view import canary_data

PID = "prm-e2e-canary"
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _seed_canary(server: ServerProcess) -> None:
    database = Database.from_url(server.database_url)
    try:
        with database.session() as s:
            if store.get_promotion(s, PID) is not None:
                return
            release, _ = releases.create_release(
                s, artifacts={"checkout": "registry.example/shop/checkout:2.0"},
                alias="v2-canary", labels={}, creator="ci",
            )  # fmt: skip
            p = Promotion(
                id=PID, release_id=release.id, environment="staging", apps=("checkout",),
                requested_by="alice", created_at=NOW, state=PromotionState.DEPLOYING,
                reason="checkout: canary step 4/4: pause until resumed", updated_at=NOW,
            )  # fmt: skip
            store.insert_promotion(s, p, next_check_at=None, data={"strategy": canary_data(3, 50)})
            store.add_step(s, PID, Step("canary step 1/4: setWeight 25", NOW,
                                        NOW + timedelta(seconds=4), "succeeded",
                                        "checkout-canary 1 beside 3 stable (25%)"))  # fmt: skip
    finally:
        database.close()


def test_the_promotion_page_follows_a_canary(page: Page, ui_server: ServerProcess) -> None:
    _seed_canary(ui_server)
    sign_in(page, ui_server)
    page.goto(f"{ui_server.url}/ui/promotions/{PID}")
    section = page.locator("#promotion-strategy")
    expect(section).to_contain_text("canary 50% (step 4/4: pause until resumed)")
    expect(section).to_contain_text("4/4: pause until resumed")
    expect(section).to_contain_text("Analysis of checkout: errors (step 2)")
    expect(page.locator("#strategy-steps")).to_contain_text("checkout-canary 1 beside 3 stable")
    expect(page.locator("#live-status")).to_contain_text("Live:")
    assert_accessible(page)
    screenshot(page, "promotion-canary")

    # The canary ends a step: the section shows it without a page load.
    page.evaluate("window.__shiplaneNoReload = true")
    database = Database.from_url(ui_server.database_url)
    try:
        with database.session() as s:
            now = datetime.now(UTC)
            store.add_step(s, PID, Step("canary step 3/4: setWeight 50", now, now, "succeeded",
                                        "checkout-canary 3 beside 3 stable (50%)"))  # fmt: skip
            audit.append_event(
                s, actor="shiplane", action="promotion.strategy_step", subject=PID,
                environment="staging", app="checkout",
                details={"steps": ["canary step 3/4: setWeight 50"], "summary": "canary 50%"},
            )  # fmt: skip
    finally:
        database.close()
    expect(page.locator("#strategy-steps")).to_contain_text(
        "checkout-canary 3 beside 3 stable (50%)", timeout=20_000
    )
    assert page.evaluate("window.__shiplaneNoReload") is True

    # Resume is a form POST with the CSRF token; this server has no engine: the refusal
    # comes back beside the button, and nothing changed.
    page.get_by_role("button", name="Resume").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#resume-form-error")).to_contain_text("no GitOps repository")
    assert_accessible(page)

    page.goto(f"{ui_server.url}/ui/matrix?environment=staging")
    expect(page.locator("#matrix-table")).to_contain_text("canary 50%")
    assert_accessible(page)
