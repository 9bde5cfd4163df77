"""The demo story in Chromium against `shiplane serve --repo` on a real local cluster
(the project `shiplane init` makes; dev, staging and prod as namespaces of one cluster):
the release page shows its artifacts and timeline; the promote drawer for prod shows the
diff against live and the unmet gates; as the requester the approve button is disabled
with the separation-of-duties reason; another release manager approves (in another
browser) and the requester's page follows deploying -> verifying -> succeeded without a
reload; a broken release shows its failure, the automatic rollback and the hold. Every
view passes axe-core; every action is taken by keyboard. Screenshots go to screenshots/."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from shiplane.config import create_project
from shiplane.localcluster.cluster import ClusterState
from tests.e2e.web.browser import AXE, CHROMIUM, CHROMIUM_ARGS, assert_accessible, screenshot
from tests.support.clusters import kube_client
from tests.support.serverproc import ServerProcess, running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster
GOOD = "ghcr.io/stefanprodan/podinfo:6.7.1"
BROKEN = "ghcr.io/stefanprodan/podinfo:6.7.2-fail"  # its smoke test fails (local clusters)
STEP = 240.0
FINISHED = {"Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"}


@pytest.fixture(scope="module")
def story(
    tmp_path_factory: pytest.TempPathFactory, cluster: ClusterState
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    root = tmp_path_factory.mktemp("ui-story")
    name = f"ui{secrets.token_hex(3)}"
    create_project(root / name, lambda _cluster: str(cluster.kubeconfig))
    # prod's namespace exists before the first deploy there, so the drawer's server-side
    # dry-run can answer for its objects ("create") instead of "namespace not found".
    kube = kube_client(cluster)
    kube.create(Namespace(metadata=ObjectMeta(name=f"{name}-prod")))
    bare = root / "gitops.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root / name), str(bare)], check=True)
    try:
        with running_server(
            root / "server",
            f"sqlite:///{root / 'shiplane.db'}",
            extra_args=["--repo", str(bare), "--health-timeout", "120"],
        ) as server:
            tokens = {}
            with server.admin() as http:
                for person, role, groups in (
                    ("ci", "promoter", []),
                    ("alice", "approver", ["release-managers"]),
                    ("bob", "approver", ["release-managers"]),
                ):
                    made = http.post(
                        "/api/v1/tokens", json={"name": person, "role": role, "groups": groups}
                    )
                    assert made.status_code == 201, made.text
                    tokens[person] = str(made.json()["token"])
            yield server, tokens
    finally:
        for env in ("dev", "staging", "prod"):
            with contextlib.suppress(ApiError):  # never made: the story stopped early
                kube.delete(Namespace, f"{name}-{env}")


@pytest.fixture(scope="module")
def browsers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, BrowserContext]]:
    """Two people at two browsers (separate profiles, so separate sessions)."""
    if not CHROMIUM.is_file() or not AXE.is_file():
        pytest.fail(f"{CHROMIUM} or {AXE} is missing: run `make system-deps assets`")
    with sync_playwright() as playwright:
        contexts = {
            person: playwright.chromium.launch_persistent_context(
                str(tmp_path_factory.mktemp(f"chromium-{person}")),
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1400, "height": 900},
            )
            for person in ("alice", "bob")
        }
        try:
            yield contexts
        finally:
            for context in contexts.values():
                context.close()


def _sign_in(context: BrowserContext, server: ServerProcess, token: str) -> Page:
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(server.url + "/ui/login")
    page.get_by_label("API token").focus()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/")
    return page


def _promotion(server: ServerProcess, environment: str, release: str) -> dict[str, Any] | None:
    with server.admin() as http:
        items = http.get(
            "/api/v1/promotions",
            params={"environment": environment, "release": release, "limit": 10},
        ).json()["items"]
    normal = [p for p in items if p["kind"] == "normal"]
    return normal[0] if normal else None


def _until(server: ServerProcess, environment: str, release: str, states: set[str]) -> Any:
    def finished() -> dict[str, Any] | None:
        p = _promotion(server, environment, release)
        if p is not None and p["state"] in FINISHED and p["state"] not in states:
            raise AssertionError(f"{environment}: {p['state']} ({p['reason']})")
        return p if p is not None and p["state"] in states else None

    return wait_for(finished, timeout=STEP, interval=1.0, what=f"{environment}: {states}")


def _release(server: ServerProcess, token: str, image: str, alias: str) -> str:
    with server.client(token) as http:
        made = http.post(
            "/api/v1/releases",
            json={"artifacts": {"web": image, "api": image}, "alias": alias},
        )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


# Records each state the promotion fragment shows, across htmx swaps.
WATCH_STATES = """() => {
  window.__states = [];
  const note = () => {
    const el = document.getElementById("promotion-state");
    const text = el ? el.textContent.trim() : "";
    if (text && window.__states[window.__states.length - 1] !== text) window.__states.push(text);
  };
  note();
  const main = document.getElementById("main");
  new MutationObserver(note).observe(main, {childList: true, subtree: true});
  window.__shiplaneNoReload = true;
}"""


def test_the_story_in_the_browser(
    story: tuple[ServerProcess, dict[str, str]], browsers: dict[str, BrowserContext]
) -> None:
    server, tokens = story
    good = _release(server, tokens["ci"], GOOD, "1.0.0")
    _until(server, "staging", good, {"Succeeded"})

    # Alice: the release page, its artifacts and its timeline across environments.
    alice = _sign_in(browsers["alice"], server, tokens["alice"])
    alice.goto(server.url + "/ui/releases/1.0.0")
    expect(alice.locator("#artifacts")).to_contain_text("ghcr.io/stefanprodan/podinfo")
    expect(alice.locator("#running")).to_contain_text("staging/web")
    timeline = alice.locator("#release-timeline")
    expect(timeline).to_contain_text("dev")
    expect(timeline).to_contain_text("staging")
    expect(timeline).to_contain_text("Succeeded")
    assert_accessible(alice)
    screenshot(alice, "story-release")

    # The promote drawer for prod, by keyboard: the diff against live and the gates.
    alice.get_by_label("Into environment").focus()
    alice.keyboard.press("End")
    alice.get_by_role("button", name="Preview promotion").focus()
    alice.keyboard.press("Enter")
    drawer = alice.locator("#promote-drawer")
    expect(drawer).to_contain_text("Promote 1.0.0 into prod", timeout=60_000)
    expect(alice.locator("#drawer-diff")).to_contain_text("would change")
    expect(alice.locator("#drawer-diff")).to_contain_text("create")
    expect(alice.locator("#drawer-gates")).to_contain_text("approval")
    expect(alice.locator("#drawer-approval")).to_contain_text(
        "You cannot approve it yourself: alice"
    )
    assert_accessible(alice)
    screenshot(alice, "story-promote-drawer")
    alice.get_by_label("Reason (optional)").focus()
    alice.keyboard.type("weekly release")
    alice.keyboard.press("Tab")
    alice.keyboard.press("Enter")
    alice.wait_for_url("**/ui/promotions/prm-*")
    promotion_url = alice.url
    expect(alice.get_by_role("button", name="Approve")).to_be_disabled()
    expect(alice.locator("#approve-why")).to_contain_text(
        "alice requested this promotion and cannot approve it"
    )
    assert_accessible(alice)
    screenshot(alice, "story-promotion-waiting")
    expect(alice.locator("#live-status")).to_contain_text("Live:")
    alice.evaluate(WATCH_STATES)

    # Bob, another release manager at another browser, approves by keyboard.
    bob = _sign_in(browsers["bob"], server, tokens["bob"])
    bob.goto(promotion_url)
    expect(bob.get_by_role("button", name="Approve")).to_be_enabled()
    bob.get_by_label("Comment (optional)").focus()
    bob.keyboard.type("looks good")
    bob.keyboard.press("Tab")
    bob.keyboard.press("Enter")
    expect(bob.locator(".notice")).to_have_text("You approved this promotion.")
    assert_accessible(bob)

    # Alice's page follows the promotion to the end without a reload.
    expect(alice.locator("#promotion-state")).to_have_text("Succeeded", timeout=STEP * 1000)
    assert alice.evaluate("window.__shiplaneNoReload") is True
    seen = alice.evaluate("window.__states")
    assert seen[-1] == "Succeeded" and "Verifying" in seen, seen
    steps = alice.locator("#promotion-steps")
    for state in ("Deploying", "Verifying", "Succeeded"):
        expect(steps).to_contain_text(state)
    assert_accessible(alice)
    screenshot(alice, "story-promotion-succeeded")

    # The broken release: its smoke test fails in staging, which rolls it back and holds.
    bad = _release(server, tokens["ci"], BROKEN, "1.1.0")
    failed = _until(server, "staging", bad, {"RolledBack", "Failed"})
    alice.goto(f"{server.url}/ui/promotions/{failed['id']}")
    expect(alice.locator("#promotion-state")).to_have_text(failed["state"])
    expect(alice.locator("#checks-title")).to_be_visible()
    expect(alice.locator(".check").first).to_contain_text("failed")
    rollbacks = alice.locator("#promotion-rollbacks")
    expect(rollbacks).to_contain_text("by shiplane")  # the engine's automatic rollback
    expect(alice.locator("#promotion-holds")).to_contain_text("staging")
    assert_accessible(alice)
    screenshot(alice, "story-promotion-rolled-back")
    alice.goto(server.url + "/ui/")
    expect(alice.locator("#env-staging")).to_contain_text("Holds")

    # The two releases compared, by keyboard: the artifacts, and the manifests rendered
    # for staging (the Deployments differ in their image, the Services not).
    alice.goto(server.url + "/ui/releases/1.0.0")
    alice.get_by_label("Other release (id, prefix or alias)").focus()
    alice.keyboard.type("1.1.0")
    alice.get_by_label("Manifests rendered for").select_option("staging")
    alice.get_by_role("button", name="Compare").focus()
    alice.keyboard.press("Enter")
    expect(alice.locator("#artifact-diff")).to_contain_text("changed")
    manifests = alice.locator("#manifest-diffs")
    expect(manifests).to_contain_text("Deployment/web: differs")
    expect(manifests).to_contain_text("Service/web: same")
    expect(manifests).to_contain_text("6.7.2-fail")
    assert_accessible(alice)
    screenshot(alice, "story-release-diff")
