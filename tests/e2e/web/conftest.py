"""A real `shiplane serve` (with the UI) over a project file, seeded through the store,
and a fresh Chromium profile per test module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from shiplane.store.db import Database
from tests.e2e.web.browser import AXE, CHROMIUM, CHROMIUM_ARGS
from tests.support.api_project import PROJECT_YAML
from tests.support.serverproc import ServerProcess, running_server
from tests.support.web_seed import seed_shop

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("ui-server")
    config = workdir / "shiplane.yaml"
    config.write_text(PROJECT_YAML)
    database_url = f"sqlite:///{workdir / 'shiplane.db'}"
    with running_server(workdir, database_url, config=config) as server:
        _seed(server.database_url)
        yield server


def _seed(database_url: str) -> None:
    """What the engine would have written: checkout v1.4.0 in dev and staging, payments
    degraded in dev and held in staging, a promotion to prod waiting for approval."""
    database = Database.from_url(database_url)
    try:
        with database.session() as s:
            seed_shop(s, now=NOW, promotion_id="prm-e2e-waiting", digest="c" * 64)
    finally:
        database.close()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian package chromium)")
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make assets` (npm ci in web/)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    browser_context.clear_cookies()
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        page.close()


def sign_in(page: Page, server: ServerProcess, token: str | None = None) -> None:
    """Sign in by keyboard, as a person would."""
    page.goto(server.url + "/")
    page.get_by_label("API token").focus()
    page.keyboard.type(token or server.admin_token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/")
