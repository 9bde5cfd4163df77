"""The Gitea forge driver against a real Gitea: pull requests opened (once per head
branch), found again, merged by another user (merge commit) or closed unmerged, and
commit statuses posted and read back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from shiplane.config.models import ForgeConfig
from shiplane.forge import (
    CommitStatus,
    ForgeAuthError,
    ForgeDriver,
    ForgeNotFoundError,
    PullRequestEvent,
    PullRequestState,
    PushEvent,
    WebhookRefused,
    make_driver,
)
from tests.integration.forge.conftest import Receiver, git
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi, GiteaRepo, GiteaUser, unique_name
from tests.support.wait import wait_for

pytestmark = pytest.mark.forge

T = TypeVar("T")
TOKEN_ENV = "SHIPLANE_TEST_FORGE_TOKEN"


def driver_for(gitea: GiteaServer, repo: GiteaRepo, token: str) -> ForgeDriver:
    config = ForgeConfig.model_validate(
        {"gitea": {"url": gitea.url, "repository": repo.full_name, "tokenEnv": TOKEN_ENV}}
    )
    return make_driver(config, environ={TOKEN_ENV: token})


def run(driver: ForgeDriver, scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await scenario()
        finally:
            await driver.aclose()

    return asyncio.run(main())


def push_branch(repo: GiteaRepo, user: GiteaUser, token: str, tmp: Path, branch: str) -> str:
    work = tmp / branch
    git(tmp, "clone", "--quiet", repo.authenticated_url(user.name, token), str(work))
    git(work, "checkout", "-q", "-b", branch)
    (work / f"{branch}.yaml").write_text(f"branch: {branch}\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", f"change on {branch}")
    git(work, "push", "-q", "origin", branch)
    return git(work, "rev-parse", "HEAD").strip()


def test_opens_one_pull_request_per_branch_sees_it_merged_and_another_closed(
    gitea: GiteaServer, forge: GiteaApi, tmp_path: Path
) -> None:
    shiplane_user, releaser = forge.create_user(), forge.create_user()
    org = forge.create_org()
    forge.create_team(org, "deployers", [shiplane_user, releaser], permission="write")
    repo = forge.create_repo(org, unique_name("gitops"))
    token = forge.create_token(shiplane_user, ["write:repository", "read:user"])
    head_sha = push_branch(repo, shiplane_user, token, tmp_path, "promote-prod")
    push_branch(repo, shiplane_user, token, tmp_path, "promote-stage")
    driver = driver_for(gitea, repo, token)

    async def scenario() -> None:
        assert await driver.find_open_pull_request("promote-prod") is None
        opened = await driver.open_pull_request("promote-prod", "main", "Promote", "body")
        assert opened.state is PullRequestState.OPEN and opened.head == "promote-prod"
        assert opened.base == "main" and opened.head_sha == head_sha
        assert opened.url.startswith(f"{gitea.url}/{repo.full_name}/pulls/")
        # A resumed promotion asks again: the same pull request, not a second one.
        again = await driver.open_pull_request("promote-prod", "main", "Promote", "body")
        assert again.number == opened.number
        found = await driver.find_open_pull_request("promote-prod", "main")
        assert found is not None and found.number == opened.number
        assert await driver.find_open_pull_request("promote-prod", "other") is None

        # Another user approves and merges it through Gitea's API.
        with forge.client(forge.create_token(releaser)) as http:
            reviewed = http.post(
                f"/repos/{repo.full_name}/pulls/{opened.number}/reviews",
                json={"event": "APPROVED", "body": "ship it"},
            )
            assert reviewed.status_code == 200, reviewed.text
            merged = http.post(
                f"/repos/{repo.full_name}/pulls/{opened.number}/merge", json={"Do": "merge"}
            )
            assert merged.status_code == 200, merged.text
            main_head = http.get(f"/repos/{repo.full_name}/branches/main").json()
        assert [r.user for r in await driver.approvals(opened.number)] == [releaser.name]
        now = await driver.pull_request(opened.number)
        assert now.state is PullRequestState.MERGED
        assert now.merge_commit == main_head["commit"]["id"]
        assert await driver.find_open_pull_request("promote-prod") is None

        # A second one is closed without being merged.
        other = await driver.open_pull_request("promote-stage", "main", "Stage", "")
        assert other.number != opened.number
        with forge.client(forge.create_token(releaser)) as http:
            closed = http.patch(
                f"/repos/{repo.full_name}/pulls/{other.number}", json={"state": "closed"}
            )
            assert closed.status_code == 201, closed.text
        gone = await driver.pull_request(other.number)
        assert gone.state is PullRequestState.CLOSED and gone.merge_commit is None

        # Statuses on the merged commit: posted, replaced per context, read back.
        sha = now.merge_commit
        assert sha is not None
        link = "http://shiplane.example/promotions/prm-1"
        await driver.set_status(sha, CommitStatus("pending", "shiplane/prod", "verifying", link))
        await driver.set_status(sha, CommitStatus("success", "shiplane/prod", "verified", link))
        await driver.set_status(sha, CommitStatus("failure", "shiplane/stage", "failed"))
        assert await driver.statuses(sha) == [
            CommitStatus("success", "shiplane/prod", "verified", link),
            CommitStatus("failure", "shiplane/stage", "failed", None),
        ]
        with pytest.raises(ForgeNotFoundError):
            await driver.pull_request(99999)

    run(driver, scenario)


def test_a_wrong_token_is_refused_as_forbidden_without_quoting_it(
    gitea: GiteaServer, forge: GiteaApi
) -> None:
    repo = forge.create_repo(forge.create_user(), unique_name("gitops"))
    driver = driver_for(gitea, repo, "not-a-token-0123456789")

    async def scenario() -> None:
        with pytest.raises(ForgeAuthError) as caught:
            await driver.find_open_pull_request("any")
        assert "not-a-token" not in str(caught.value)
        assert caught.value.details["status"] == 401

    run(driver, scenario)


def test_real_deliveries_of_a_pull_request_and_a_push_verify_and_parse(
    gitea: GiteaServer, forge: GiteaApi, receiver: Receiver, tmp_path: Path
) -> None:
    owner = forge.create_user()
    repo = forge.create_repo(owner, unique_name("gitops"))
    token = forge.create_token(owner, ["write:repository", "read:user"])
    hook = forge.create_webhook(repo, receiver.url, events=["push", "pull_request"])
    push_branch(repo, owner, token, tmp_path, "promote-dev")
    driver = driver_for(gitea, repo, token)

    def deliveries(event: str, wanted: int) -> list[tuple[dict[str, str], bytes]]:
        found = [d for d in receiver.deliveries if d[0].get("x-gitea-event") == event]
        return found if len(found) >= wanted else []

    async def scenario() -> int:
        opened = await driver.open_pull_request("promote-dev", "main", "Promote dev", "")
        with forge.client(token) as http:
            merged = http.post(
                f"/repos/{repo.full_name}/pulls/{opened.number}/merge", json={"Do": "merge"}
            )
            assert merged.status_code == 200, merged.text
        return opened.number

    number = run(driver, scenario)
    merge_commit = asyncio.run(_merge_commit(gitea, repo, token, number))
    pulls = wait_for(lambda: deliveries("pull_request", 2), timeout=30, what="PR deliveries")
    events: list[object] = []
    for headers, body in pulls:
        driver.verify_delivery(headers, body, hook.secret)
        with pytest.raises(WebhookRefused):
            driver.verify_delivery(headers, body, hook.secret + "x")
        events.append(driver.parse_delivery(headers, body))
    by_action = {e.action: e for e in events if isinstance(e, PullRequestEvent)}
    assert by_action["opened"].state is PullRequestState.OPEN
    closed = by_action["closed"]
    assert (closed.number, closed.head, closed.base) == (number, "promote-dev", "main")
    assert closed.state is PullRequestState.MERGED and closed.merge_commit == merge_commit
    assert closed.repository_url == repo.clone_url

    # The merge was a push to main: its delivery lists the files the commits touched.
    # Wait for main's own push delivery: the branch push made before the pull request is
    # also a push delivery and may be the only one that has arrived yet.
    def main_push_deliveries() -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in deliveries("push", 1) if b"refs/heads/main" in b]

    pushes = wait_for(main_push_deliveries, timeout=30, what="main's push delivery")
    main_pushes = [driver.parse_delivery(h, b) for h, b in pushes]
    assert any(
        isinstance(e, PushEvent)
        and e.after == merge_commit
        and e.paths is not None
        and "promote-dev.yaml" in e.paths
        for e in main_pushes
    ), main_pushes


async def _merge_commit(gitea: GiteaServer, repo: GiteaRepo, token: str, number: int) -> str:
    driver = driver_for(gitea, repo, token)
    try:
        pull = await driver.pull_request(number)
    finally:
        await driver.aclose()
    assert pull.merge_commit is not None
    return pull.merge_commit
