"""The Approvals, Environments, Audit and Insights views in Chromium against a real
`shiplane serve` with its engine (a GitOps repository on disk; no cluster is needed for
approvals, freezes and holds): every action by keyboard, bad input explained beside its
field, no CSP violation, no serious or critical axe-core violation, a screenshot of
each; the audit chain verified in the browser; the insights page showing exactly the
numbers of GET /api/v1/insights."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_controls import Hold
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.store import audit, promotion_controls, promotions, releases, tokens
from shiplane.store.db import Database
from shiplane.store.deploys import update_deployment
from tests.e2e.web.browser import assert_accessible, screenshot
from tests.support.api_project import PROJECT_YAML
from tests.support.gitops_repo import build_repo
from tests.support.insights_history import write_history
from tests.support.serverproc import ServerProcess, running_server

PROJECT = PROJECT_YAML.replace(
    "prod: {cluster: local, namespace: prod, after: [staging]}",
    "prod: {cluster: local, namespace: prod, after: [staging], tier: production,"
    " windows: [business-hours]}",
).replace(
    "apps:\n",
    "  qa: {cluster: local, namespace: qa, after: [dev],\n"
    "       approvals: {required: 1, groups: [release-managers], expiry: 4h}}\n"
    "windows:\n"
    "  business-hours:\n"
    '    allow: [{days: [Mon, Tue, Wed, Thu, Fri], from: "09:00", to: "17:00"}]\n'
    "    timezone: Europe/Berlin\n"
    "apps:\n",
    1,
)
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


@pytest.fixture(scope="module")
def views_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("ui-views-server")
    config = workdir / "shiplane.yaml"
    config.write_text(PROJECT)
    bare, _checkout = build_repo(workdir, PROJECT)
    database_url = f"sqlite:///{workdir / 'shiplane.db'}"
    # Not ready (/readyz): the project's in-cluster "cluster" does not exist here, and
    # nothing these tests do needs one.
    with running_server(
        workdir / "server",
        database_url,
        config=config,
        extra_args=["--repo", str(bare), "--git-poll", "0"],
        ready=False,
    ) as server:
        server.extra_secrets.append(_seed(server.database_url))
        yield server


def _seed(database_url: str) -> str:
    """A promotion to qa waiting for an approval (asked by rita), checkout's insights
    history, drift in prod with a secret, a hold, and bob's approver token."""
    database = Database.from_url(database_url)
    try:
        with database.session() as s:
            write_history(s, "checkout", BASE)
            release, _ = releases.create_release(
                s,
                artifacts={"checkout": "registry.example/shop/checkout:3.0"},
                alias="v3.0.0",
                labels={},
                creator="ci",
            )
            now = datetime.now(UTC)
            promotions.insert_promotion(
                s,
                Promotion(
                    id=new_promotion_id(now),
                    release_id=release.id,
                    environment="qa",
                    apps=("checkout",),
                    requested_by="rita",
                    created_at=now,
                    state=PromotionState.WAITING,
                    reason="approval: waiting",
                    updated_at=now,
                ),
                next_check_at=None,
                data={},
            )
            update_deployment(
                s,
                environment="prod",
                app="payments",
                sync_status="OutOfSync",
                sync_detail=[
                    {
                        "ref": {"kind": "Secret", "namespace": "prod", "name": "db"},
                        "path": "data.password",
                        "desired": "c2VjcmV0LXZhbHVl",
                        "live": "b3RoZXI=",
                        "managers": ["kubectl-edit"],
                    }
                ],
            )
            promotion_controls.set_hold(s, Hold("staging", "payments", "olga", now, "flaky checks"))
            audit.append_event(
                s,
                actor="olga",
                action="app.held",
                subject="staging/payments",
                details={"reason": "flaky checks"},
                environment="staging",
                app="payments",
            )
            _record, bob = tokens.create_token(
                s,
                name="bob",
                role="approver",
                environments=(),
                created_by="test",
                groups=("release-managers",),
            )
    finally:
        database.close()
    return bob


def _csp_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            errors.append(message.text)

    page.on("console", collect)
    return errors


def _sign_in(page: Page, server: ServerProcess, token: str) -> None:
    page.goto(server.url + "/ui/login")
    page.get_by_label("API token").focus()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/")


def test_approvals_inbox_by_keyboard(page: Page, views_server: ServerProcess) -> None:
    csp = _csp_errors(page)
    _sign_in(page, views_server, views_server.extra_secrets[0])
    page.get_by_role("link", name="Approvals").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/approvals")
    item = page.locator(".inbox-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("v3.0.0 → qa")
    expect(item).to_contain_text("0 of 1")
    expect(item).to_contain_text("an approval stays valid 4h")
    assert_accessible(page)
    screenshot(page, "approvals")
    # A reject without a reason: the API's words beside the field, nothing changes.
    page.locator("input[name=reason]").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Reject")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("[id^=reason-][id$=-error]")).to_contain_text(
        "body.reason: String should have at least 1 character"
    )
    expect(page.locator(".inbox-item")).to_contain_text("0 of 1")
    assert_accessible(page)
    page.locator("input[name=comment]").focus()
    page.keyboard.type("ship it")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Approve")).to_be_focused()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("status").filter(has_text="The promotion was approved.")
    ).to_be_visible()
    expect(page.get_by_text("Nothing waits for your approval.")).to_be_visible()
    with views_server.admin() as client:
        events = client.get("/api/v1/audit", params={"actor": "bob"}).json()["items"]
    assert [e["action"] for e in events][:1] == ["promotion.approve"]
    assert csp == []


def test_environments_show_freezes_holds_windows_and_masked_drift(
    page: Page, views_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    _sign_in(page, views_server, views_server.admin_token)
    page.get_by_role("link", name="Environments").click()
    expect(page.locator("#row-staging")).to_contain_text("payments")
    expect(page.locator("#row-prod")).to_contain_text("1 out of sync")
    assert_accessible(page)
    screenshot(page, "environments")
    page.get_by_role("link", name="prod", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/environments/prod")
    expect(page.locator("#window-state")).to_contain_text("now")
    expect(page.get_by_text("Mon-Fri 09:00-17:00 Europe/Berlin")).to_be_visible()
    expect(page.locator("#drift-payments")).to_contain_text("OutOfSync")
    assert "c2VjcmV0LXZhbHVl" not in page.content() and "b3RoZXI=" not in page.content()
    assert_accessible(page)
    screenshot(page, "environment")
    # No reason: refused beside the field. Then frozen, and lifted, by keyboard.
    page.get_by_role("button", name="Freeze prod").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#freeze-reason-error")).to_contain_text("body.reason")
    expect(page.get_by_text("Not frozen.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Reason to freeze prod").focus()
    page.keyboard.type("year-end")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Frozen.", exact=True)).to_be_visible()
    expect(page.locator(".flag-frozen")).to_contain_text("year-end")
    page.get_by_role("button", name="Lift the freeze of prod").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The freeze is lifted.")).to_be_visible()
    # Hold an app and lift the hold.
    page.get_by_label("App to hold").select_option("checkout")
    page.get_by_label("Reason (optional)").focus()
    page.keyboard.type("investigating")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The hold is set.")).to_be_visible()
    expect(page.locator(".holds")).to_contain_text("investigating")
    page.get_by_role("button", name="Lift the hold of checkout").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The hold is lifted.")).to_be_visible()
    expect(page.get_by_text("No app is held here.")).to_be_visible()
    assert_accessible(page)
    with views_server.admin() as client:
        actions = [e["action"] for e in client.get("/api/v1/audit").json()["items"]]
    assert {"freeze.set", "freeze.lift", "hold.set", "hold.lift"} <= set(actions)

    # Drift found meanwhile shows up without a page load.
    expect(page.locator("#live-status")).to_contain_text("Live:")
    page.evaluate("window.__shiplaneNoReload = true")
    database = Database.from_url(views_server.database_url)
    try:
        with database.session() as s:
            update_deployment(s, environment="prod", app="checkout", sync_status="OutOfSync")
            audit.append_event(
                s,
                actor="shiplane",
                action="drift.found",
                subject="prod/checkout",
                details={},
                environment="prod",
                app="checkout",
            )
    finally:
        database.close()
    expect(page.locator("#drift-checkout")).to_contain_text("OutOfSync", timeout=20_000)
    assert page.evaluate("window.__shiplaneNoReload") is True
    assert csp == []


def test_audit_filters_verifies_the_chain_and_exports(
    page: Page, views_server: ServerProcess
) -> None:
    csp = _csp_errors(page)
    _sign_in(page, views_server, views_server.admin_token)
    page.goto(views_server.url + "/ui/audit")
    page.get_by_label("Actor").focus()
    page.keyboard.type("olga")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/audit?actor=olga**")
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("app.held")
    page.evaluate("window.__shiplaneNoReload = true")
    page.get_by_role("button", name="Verify the chain").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#chain-result")).to_contain_text("Chain ok")
    assert page.evaluate("window.__shiplaneNoReload") is True  # htmx, no page load
    export = page.get_by_role("link", name="Export these events (JSON lines)")
    href = export.get_attribute("href")
    assert href is not None and "actor=olga" in href
    download = page.request.get(views_server.url + href)
    lines = download.text().splitlines()
    assert len(lines) == 1 and '"action":"app.held"' in lines[0]
    assert_accessible(page)
    screenshot(page, "audit")
    assert csp == []


def test_insights_show_the_same_numbers_as_the_api(page: Page, views_server: ServerProcess) -> None:
    csp = _csp_errors(page)
    _sign_in(page, views_server, views_server.admin_token)
    page.get_by_role("link", name="Insights").click()
    expect(page.locator("#insights-production")).to_contain_text("gate:approval")
    since = page.locator("#range-since").get_attribute("value")
    until = page.locator("#range-until").get_attribute("value")
    with httpx.Client(base_url=views_server.url, timeout=30) as client:
        api = client.get(
            "/api/v1/insights",
            params={"since": since, "until": until},
            headers={"Authorization": f"Bearer {views_server.admin_token}"},
        ).json()
    shown = page.eval_on_selector_all(
        "data[data-key]", "nodes => nodes.map(n => [n.dataset.key, n.getAttribute('value')])"
    )
    assert len(shown) > 40
    for key, value in shown:
        assert value == _api_value(api, key), key
    assert api["production"]["dora"]["deployments"] == 1
    expect(page.locator("#chart-production")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "insights")
    assert csp == []


def _api_value(report: dict, key: str) -> str:  # type: ignore[type-arg]
    block, app, path = key.split("|")
    if block == "production":
        item = report["production"]
    else:
        item = next(e for e in report["environments"] if e["environment"] == block)
    if app:
        item = next(a for a in item["apps"] if a["app"] == app)
    parts = path.split(".")
    if parts[0] == "flow":
        node = next(x for x in item["flow"][parts[1]] if x["name"] == parts[2])[parts[3]]
    else:
        node = item["dora"]
        for part in parts:
            node = node[part]
    return "null" if node is None else repr(node)
