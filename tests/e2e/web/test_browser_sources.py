"""Artifact sources in Chromium against a real `shiplane serve` (a project file with two
image sources, their states seeded through the store; no GitOps repository, so no
engine): the pipeline's Sources panel, its Refresh button refused by keyboard with the
reason beside it, the release page naming the source that assembled it, a tag-only
artifact marked unresolved; no CSP violation and no serious or critical axe-core
violation. Screenshots go to screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from shiplane.store import audit, releases
from shiplane.store import sources as store
from shiplane.store.db import Database
from tests.e2e.web.browser import assert_accessible, screenshot
from tests.e2e.web.conftest import sign_in
from tests.support.api_project import PROJECT_YAML
from tests.support.serverproc import ServerProcess, running_server

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab12cd34ef56" + "0" * 52
CHECKOUT = "127.0.0.1:1/shop/checkout"  # never asked: the server runs no engine
SOURCES = f"""\
sources:
  checkout:
    image: {{repository: {CHECKOUT}, constraint: ">=1 <2"}}
    apps: [checkout]
    interval: 10m
  payments:
    image: {{repository: registry.example/shop/payments}}
    apps: [payments]
"""


@pytest.fixture(scope="module")
def sources_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("ui-sources")
    config = workdir / "shiplane.yaml"
    config.write_text(PROJECT_YAML.replace("registry.example/shop/checkout", CHECKOUT) + SOURCES)
    database_url = f"sqlite:///{workdir / 'shiplane.db'}"
    with running_server(workdir, database_url, config=config) as server:
        _seed(server.database_url)
        yield server


def _seed(database_url: str) -> None:
    database = Database.from_url(database_url)
    try:
        with database.session() as s:
            store.save_state(
                s, "checkout", kind="image", now=NOW, next_poll_at=NOW + timedelta(minutes=10),
                healthy=True, reason=None, version="1.2.0", digest=DIGEST,
                artifact=f"{CHECKOUT}:1.2.0@{DIGEST}",
            )  # fmt: skip
            release, _ = releases.create_release(
                s,
                artifacts={"checkout": f"{CHECKOUT}:1.2.0@{DIGEST}"},
                alias="1.2.0",
                labels={"source": "checkout"},
                creator="source/checkout",
            )
            store.note_assembly(s, "checkout", None, release=release.id)
            store.save_state(
                s, "payments", kind="image", now=NOW, next_poll_at=NOW + timedelta(minutes=5),
                healthy=False, reason="401 Unauthorized: the registry refused the credentials",
            )  # fmt: skip
            releases.create_release(
                s,
                artifacts={"checkout": f"{CHECKOUT}:1.3.0"},
                alias="1.3.0-by-hand",
                labels={},
                creator="ci",
            )
    finally:
        database.close()


def _csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            errors.append(message.text)

    page.on("console", collect)
    return errors


def test_the_sources_panel_refresh_refusal_and_the_assembling_source(
    page: Page, sources_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    sign_in(page, sources_server)
    panel = page.locator("#sources")
    expect(panel.get_by_role("heading", name="Artifact sources")).to_be_visible()
    checkout = page.locator("#source-checkout")
    expect(checkout).to_contain_text("1.2.0")
    expect(checkout).to_contain_text("sha256:ab12cd34ef56…")
    expect(checkout).to_contain_text("healthy")
    expect(page.locator("#source-payments")).to_contain_text("the registry refused the credentials")
    assert_accessible(page)
    screenshot(page, "pipeline-sources")

    # A delivery arrives and the source finds something: the panel redraws without a reload.
    page.evaluate("window.__shiplaneNoReload = true")
    database = Database.from_url(sources_server.database_url)
    try:
        with database.session() as s:
            store.save_state(
                s, "payments", kind="image", now=datetime.now(UTC), next_poll_at=None,
                healthy=True, reason=None, version="2.0.0", digest=DIGEST,
                artifact=f"registry.example/shop/payments:2.0.0@{DIGEST}",
            )  # fmt: skip
            audit.append_event(
                s, actor="hook:registry", action="hook.received", subject="registry",
                details={"matched": ["payments"]},
            )  # fmt: skip
    finally:
        database.close()
    expect(page.locator("#source-payments")).to_contain_text("2.0.0", timeout=20_000)
    assert page.evaluate("window.__shiplaneNoReload") is True

    # Refresh by keyboard: no engine runs here, so the refusal shows beside the button.
    page.get_by_role("button", name="Refresh payments").focus()
    page.keyboard.press("Enter")
    error = page.locator("#refresh-payments-error")
    expect(error).to_contain_text("no GitOps repository")
    assert_accessible(page)

    # The last release links to the release page, which links back to the source.
    page.goto(sources_server.url + "/ui/")
    checkout.get_by_role("link", name="1.2.0").click()
    assembled = page.locator("#assembled-by")
    expect(assembled).to_contain_text("Assembled by artifact source checkout")
    assert_accessible(page)
    assembled.get_by_role("link", name="checkout").click()
    expect(page).to_have_url(sources_server.url + "/ui/#source-checkout")

    page.goto(sources_server.url + "/ui/releases/1.3.0-by-hand")
    expect(page.locator("#artifacts")).to_contain_text("unresolved")
    expect(page.locator("#assembled-by")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "release-unresolved")
    assert csp == []
