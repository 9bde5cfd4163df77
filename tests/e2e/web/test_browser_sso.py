"""Single sign-on in Chromium against the real Gitea and a real `shiplane serve`: sign
in through Gitea's own pages (sign-in form, consent), land on the pipeline as that
person with the role their team maps to, sign out and the session is gone server-side;
someone in no mapped group sees why and gets no session. On a promotion waiting for
approval in prod, a member of the approvers' team (`release-managers`) approves, and a
member of the organisation outside that team sees the button disabled and why."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select

from shiplane.store.db import Database
from shiplane.store.models import WebSession
from tests.e2e.web.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.api_project import PROJECT_YAML
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaUser
from tests.support.gitops_repo import build_repo
from tests.support.prometheus import free_port
from tests.support.serverproc import ServerProcess, running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.forge

SECRET_ENV = "SHIPLANE_TEST_BROWSER_SSO_SECRET"


@dataclass(frozen=True)
class SsoServer:
    server: ServerProcess
    manager: GiteaUser
    outsider: GiteaUser
    developer: GiteaUser


@pytest.fixture(scope="module")
def sso_server(gitea: GiteaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoServer]:
    forge = gitea.api()
    manager, outsider, developer = forge.create_user(), forge.create_user(), forge.create_user()
    org = forge.create_org()
    forge.create_team(org, "release-managers", [manager])
    forge.create_team(org, "developers", [developer])  # in the org, not an approver
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = forge.create_oauth_app(forge.create_user(), [f"{url}/ui/sso/callback"])
    workdir = tmp_path_factory.mktemp("sso-server")
    config = workdir / "shiplane.yaml"
    # prod needs one approval (the approvers: whoever has the approver role there).
    project = PROJECT_YAML.replace(
        "after: [staging]}", "after: [staging], approvals: {required: 1}}"
    )
    config.write_text(
        project
        + f"""sso:
  issuer: {gitea.url}
  clientId: {app.client_id}
  clientSecretEnv: {SECRET_ENV}
  roles:
    - {{group: {org}, role: viewer}}
    - {{group: "{org}:release-managers", role: approver, environments: [prod]}}
"""
    )
    os.environ[SECRET_ENV] = app.client_secret  # the server process inherits it
    try:
        with running_server(
            workdir,
            f"sqlite:///{workdir / 'shiplane.db'}",
            config=config,
            ready=False,  # its cluster is never reachable here: /readyz says so
            # A GitOps repository, so promotions can be requested (none is deployed:
            # prod waits for staging and for an approval).
            extra_args=[
                "--listen",
                f"127.0.0.1:{port}",
                "--repo",
                str(build_repo(workdir, config.read_text())[0]),
            ],
        ) as server:
            yield SsoServer(server, manager, outsider, developer)
    finally:
        os.environ.pop(SECRET_ENV, None)


@pytest.fixture
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """A fresh Chromium profile per test (no axe-core needed here, unlike the module
    fixture of conftest.py): each sign-in starts with no cookies at Gitea either."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian package chromium)")
    profile = tmp_path_factory.mktemp("chromium-sso")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            found = context.new_page()
            found.set_default_timeout(15_000)
            yield found
        finally:
            context.close()


def sessions(server: ServerProcess) -> int:
    database = Database.from_url(server.database_url)
    try:
        with database.session() as s:
            return len(list(s.scalars(select(WebSession))))
    finally:
        database.close()


def sign_in_at_gitea(
    page: Page, sso: SsoServer, user: GiteaUser, *, consent: bool | None = True
) -> None:
    """Through Gitea's sign-in form and its consent page (`consent=None`: only if Gitea
    asks, since it remembers a grant and skips the page for a user who gave it)."""
    page.goto(sso.server.url + "/ui/login")
    page.get_by_role("link", name="Sign in with SSO").click()
    page.locator("input[name=user_name]").fill(user.name)
    page.locator("input[name=password]").fill(user.password)
    page.locator("input[name=password]").press("Enter")
    button = page.locator("#authorize-app")
    if consent is None:  # back at Shiplane, or Gitea's consent page
        home = sso.server.url + "/ui/"
        wait_for(
            lambda: page.url.startswith(home) or button.count() > 0,
            timeout=15,
            what="Shiplane or Gitea's consent page",
        )
        consent = not page.url.startswith(home)
    if consent:
        button.wait_for()
        button.click()


def test_sign_in_through_gitea_lands_as_that_person_and_sign_out_ends_it(
    page: Page, sso_server: SsoServer
) -> None:
    sign_in_at_gitea(page, sso_server, sso_server.manager)
    page.wait_for_url(sso_server.server.url + "/ui/")
    expect(page.locator("header")).to_contain_text(f"{sso_server.manager.name} (approver)")
    assert sessions(sso_server.server) == 1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    assert sessions(sso_server.server) == 0
    page.goto(sso_server.server.url + "/ui/matrix")
    expect(page).to_have_url(sso_server.server.url + "/ui/login?next=%2Fui%2Fmatrix")


def test_someone_in_no_mapped_group_sees_why_and_gets_no_session(
    page: Page, sso_server: SsoServer
) -> None:
    sign_in_at_gitea(page, sso_server, sso_server.outsider)
    expect(page.locator(".problem")).to_contain_text("is in none of the groups sso.roles maps")
    assert sessions(sso_server.server) == 0


def waiting_promotion(server: ServerProcess) -> str:
    """A promotion into prod (by the bootstrap admin) waiting, among others, for approval."""
    with server.admin() as api:
        artifacts = {
            "checkout": "registry.example/shop/checkout:1.0.0",
            "payments": "registry.example/shop/payments:1.0.0",
        }
        r = api.post("/api/v1/releases", json={"artifacts": artifacts})
        assert r.status_code == 201, r.text
        r = api.post("/api/v1/promotions", json={"release": r.json()["id"], "environment": "prod"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def test_an_approver_team_member_approves_and_another_member_sees_why_not(
    page: Page, sso_server: SsoServer
) -> None:
    server = sso_server.server
    pid = waiting_promotion(server)
    # A member of the organisation, not of release-managers: viewer only, told why.
    sign_in_at_gitea(page, sso_server, sso_server.developer)
    page.wait_for_url(server.url + "/ui/")
    expect(page.locator("header")).to_contain_text(f"{sso_server.developer.name} (viewer)")
    page.goto(f"{server.url}/ui/promotions/{pid}")
    expect(page.get_by_role("button", name="Approve")).to_be_disabled()
    why = page.locator("#approve-why")
    expect(why).to_contain_text("'viewer'")
    expect(why).to_contain_text("'approver'")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/login")
    page.context.clear_cookies()  # sign in at Gitea afresh as someone else
    # A member of release-managers: approver in prod, approves through the page.
    sign_in_at_gitea(page, sso_server, sso_server.manager, consent=None)
    page.wait_for_url(server.url + "/ui/")
    page.goto(f"{server.url}/ui/promotions/{pid}")
    expect(page.get_by_role("button", name="Approve")).to_be_enabled()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".notice")).to_have_text("You approved this promotion.")
    with server.admin() as api:
        events = api.get("/api/v1/audit", params={"action": "promotion.approve"}).json()
    [approval] = [e for e in events["items"] if e["subject"] == pid]
    assert approval["actor"] == sso_server.manager.name  # the person, from Gitea
