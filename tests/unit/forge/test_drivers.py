"""Each forge driver's requests and its reading of the answers, against an HTTP double
answering as the forge documents (tests/unit/forge/documented.py); the Gitea driver
also runs against a real Gitea (tests/integration/forge/test_gitea_driver.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from shiplane.config.models import ForgeConfig
from shiplane.forge import (
    CommitStatus,
    ForgeAuthError,
    ForgeDriver,
    ForgeError,
    ForgeNotFoundError,
    ForgeRejectedError,
    ForgeTokenError,
    PullRequestState,
    Review,
    make_driver,
)
from tests.unit.forge import documented as d
from tests.unit.forge.replay import Replay, body_of

T = TypeVar("T")
TOKEN = "tok-" + "s3cr3t" * 4
ENV = {"FORGE_TOKEN": TOKEN}
GH = "/repos/octocat/Hello-World"
GL = "/api/v4/projects/my-group%2Fmy-project"
GT = "/api/v1/repos/shop/gitops"


def driver(kind: str, replay: Replay) -> ForgeDriver:
    section: dict[str, Any] = {"tokenEnv": "FORGE_TOKEN"}
    if kind == "github":
        section["repository"] = "octocat/Hello-World"
    elif kind == "gitlab":
        section |= {"repository": "my-group/my-project", "url": "https://gitlab.example.com"}
    else:
        section |= {"repository": "shop/gitops", "url": "https://gitea.example"}
    config = ForgeConfig.model_validate({kind: section})
    return make_driver(config, environ=ENV, transport=replay.transport())


def run(forge: ForgeDriver, scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await scenario()
        finally:
            await forge.aclose()

    return asyncio.run(main())


# --- GitHub -------------------------------------------------------------------------------


def test_github_opens_a_pull_request_once_per_head_branch() -> None:
    replay = Replay()
    replay.on("GET", f"{GH}/pulls", (200, []), (200, [d.github_pull()]))
    replay.on("POST", f"{GH}/pulls", (201, d.github_pull()))
    forge = driver("github", replay)

    async def scenario() -> None:
        opened = await forge.open_pull_request("promote-prod", "main", "Promote", "body text")
        assert (opened.number, opened.state, opened.head, opened.base) == (
            1347, PullRequestState.OPEN, "promote-prod", "main",
        )  # fmt: skip
        assert opened.url == "https://github.com/octocat/Hello-World/pull/1347"
        assert opened.head_sha == d.SHA and opened.merge_commit is None
        again = await forge.open_pull_request("promote-prod", "main", "Promote", "body text")
        assert again.number == 1347

    run(forge, scenario)
    [create] = replay.sent("POST", f"{GH}/pulls")  # the second call found it
    assert body_of(create) == {
        "head": "promote-prod", "base": "main", "title": "Promote", "body": "body text",
    }  # fmt: skip
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.headers["accept"] == "application/vnd.github+json"
    assert create.headers["x-github-api-version"] == "2022-11-28"
    search = replay.sent("GET", f"{GH}/pulls")[0].url.params
    assert (search["state"], search["head"], search["base"]) == (
        "open", "octocat:promote-prod", "main",
    )  # fmt: skip


def test_github_a_pull_request_opened_meanwhile_is_found_instead_of_failing() -> None:
    replay = Replay()
    replay.on("GET", f"{GH}/pulls", (200, []), (200, [d.github_pull(7)]))
    exists = "A pull request already exists for octocat:promote-prod."
    already = {"message": "Validation Failed", "errors": [{"message": exists}]}
    replay.on("POST", f"{GH}/pulls", (422, already))
    forge = driver("github", replay)
    assert run(forge, lambda: forge.open_pull_request("promote-prod", "main", "t", "b")).number == 7


def test_github_pull_request_states_reviews_and_statuses() -> None:
    replay = Replay()
    replay.on("GET", f"{GH}/pulls/1", (200, d.github_pull(1, state="closed", merged=True)))
    replay.on("GET", f"{GH}/pulls/2", (200, d.github_pull(2, state="closed")))
    reviews = [
        {"id": 80, "user": {"login": "alice"}, "state": "APPROVED", "commit_id": d.SHA},
        {"id": 81, "user": {"login": "bob"}, "state": "APPROVED", "commit_id": d.SHA},
        {"id": 82, "user": {"login": "bob"}, "state": "CHANGES_REQUESTED", "commit_id": d.SHA},
        {"id": 83, "user": {"login": "alice"}, "state": "COMMENTED", "commit_id": d.SHA},
        {"id": 84, "user": {"login": "carol"}, "state": "DISMISSED", "commit_id": d.SHA},
    ]
    replay.on("GET", f"{GH}/pulls/1/reviews", (200, reviews))
    replay.on("POST", f"{GH}/statuses/{d.MERGE_SHA}", (201, {"id": 1, "state": "success"}))
    combined = {
        "state": "success",
        "sha": d.MERGE_SHA,
        "statuses": [
            {"state": "success", "context": "shiplane/prod", "description": "verified",
             "target_url": "https://shiplane.example/p/1"},
            {"state": "pending", "context": "shiplane/prod", "description": "older"},
            {"state": "failure", "context": "ci/build", "description": "", "target_url": None},
        ],
    }  # fmt: skip
    replay.on("GET", f"{GH}/commits/{d.MERGE_SHA}/status", (200, combined))
    forge = driver("github", replay)

    async def scenario() -> None:
        merged = await forge.pull_request(1)
        assert merged.state is PullRequestState.MERGED and merged.merge_commit == d.MERGE_SHA
        closed = await forge.pull_request(2)
        assert closed.state is PullRequestState.CLOSED and closed.merge_commit is None
        # Only the latest non-comment review per person counts.
        assert await forge.approvals(1) == [Review("alice", d.SHA)]
        link = "https://shiplane.example/p/1"
        await forge.set_status(d.MERGE_SHA, CommitStatus("success", "shiplane/prod", "ok", link))
        assert await forge.statuses(d.MERGE_SHA) == [
            CommitStatus("failure", "ci/build", "", None),
            CommitStatus("success", "shiplane/prod", "verified", link),
        ]

    run(forge, scenario)
    [posted] = replay.sent("POST", f"{GH}/statuses/{d.MERGE_SHA}")
    assert body_of(posted) == {
        "state": "success", "context": "shiplane/prod", "description": "ok",
        "target_url": "https://shiplane.example/p/1",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (401, ForgeAuthError, None),
        (403, ForgeAuthError, None),
        (404, ForgeNotFoundError, None),
        (422, ForgeRejectedError, None),
        (429, ForgeError, True),
        (502, ForgeError, True),
    ],
)
def test_failures_map_onto_the_error_families_without_the_token(
    status: int, error: type[Exception], retryable: bool | None
) -> None:
    replay = Replay()
    replay.on("GET", f"{GH}/pulls/5", (status, {"message": "Bad credentials"}))
    forge = driver("github", replay)
    with pytest.raises(error) as caught:
        run(forge, lambda: forge.pull_request(5))
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value.args)
    assert f"HTTP {status}" in str(caught.value)
    if retryable is not None:
        assert getattr(caught.value, "retryable", None) is retryable


def test_a_timeout_is_retryable() -> None:
    def slow(request: httpx.Request) -> tuple[int, Any]:
        raise httpx.ReadTimeout("timed out", request=request)

    replay = Replay()
    replay.on("GET", f"{GH}/pulls/5", slow)
    forge = driver("github", replay)
    with pytest.raises(ForgeError) as caught:
        run(forge, lambda: forge.pull_request(5))
    assert caught.value.retryable and "timed out" in str(caught.value)


def test_an_unset_token_variable_says_where_never_what() -> None:
    config = ForgeConfig.model_validate(
        {"github": {"repository": "octocat/Hello-World", "tokenEnv": "FORGE_TOKEN"}}
    )
    with pytest.raises(ForgeTokenError) as caught:
        make_driver(config, environ={})
    assert "FORGE_TOKEN" in str(caught.value)


def test_a_token_file_is_read_when_the_driver_is_made(tmp_path: Any) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    replay = Replay()
    replay.on("GET", f"{GH}/pulls/1", (200, d.github_pull(1)))
    config = ForgeConfig.model_validate(
        {"github": {"repository": "octocat/Hello-World", "tokenFile": str(token_file)}}
    )
    forge = make_driver(config, transport=replay.transport())
    run(forge, lambda: forge.pull_request(1))
    assert replay.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# --- GitLab -------------------------------------------------------------------------------


def test_gitlab_opens_a_merge_request_once_and_reads_its_states() -> None:
    replay = Replay()
    mrs = f"{GL}/merge_requests"
    replay.on("GET", mrs, (200, []), (200, [d.gitlab_merge_request(1)]))
    replay.on("POST", mrs, (201, d.gitlab_merge_request(1)))
    replay.on("GET", f"{mrs}/1", (200, d.gitlab_merge_request(1, state="merged")))
    replay.on("GET", f"{mrs}/2", (200, d.gitlab_merge_request(2, state="closed")))
    approvals = {
        "id": 5, "iid": 1, "approved": True,
        "approved_by": [{"user": {"name": "Administrator", "username": "root", "id": 1}}],
    }  # fmt: skip
    replay.on("GET", f"{mrs}/1/approvals", (200, approvals))
    forge = driver("gitlab", replay)

    async def scenario() -> None:
        opened = await forge.open_pull_request("promote-prod", "main", "Promote", "text")
        assert (opened.number, opened.state) == (1, PullRequestState.OPEN)
        assert opened.url.endswith("/my-project/merge_requests/1")
        assert (await forge.open_pull_request("promote-prod", "main", "Promote", "")).number == 1
        merged = await forge.pull_request(1)
        assert merged.state is PullRequestState.MERGED and merged.merge_commit == d.MERGE_SHA
        closed = await forge.pull_request(2)
        assert closed.state is PullRequestState.CLOSED and closed.merge_commit is None
        assert await forge.approvals(1) == [Review("root")]

    run(forge, scenario)
    [create] = replay.sent("POST", mrs)
    assert body_of(create) == {
        "source_branch": "promote-prod", "target_branch": "main",
        "title": "Promote", "description": "text",
    }  # fmt: skip
    assert create.headers["private-token"] == TOKEN and "authorization" not in create.headers
    search = replay.sent("GET", mrs)[0].url.params
    assert (search["state"], search["source_branch"], search["target_branch"]) == (
        "opened", "promote-prod", "main",
    )  # fmt: skip


def test_gitlab_a_merge_request_opened_meanwhile_is_found() -> None:
    replay = Replay()
    mrs = f"{GL}/merge_requests"
    replay.on("GET", mrs, (200, []), (200, [d.gitlab_merge_request(9)]))
    exists = "Another open merge request already exists for this source branch: !9"
    conflict = {"message": [exists]}
    replay.on("POST", mrs, (409, conflict))
    forge = driver("gitlab", replay)
    assert run(forge, lambda: forge.open_pull_request("promote-prod", "main", "t", "")).number == 9


def test_gitlab_commit_statuses_are_translated_both_ways() -> None:
    replay = Replay()
    replay.on("POST", f"{GL}/statuses/{d.MERGE_SHA}", (201, {"id": 93, "status": "failed"}))
    listed = [
        {"id": 91, "sha": d.MERGE_SHA, "status": "running", "name": "shiplane/prod",
         "description": "verifying", "target_url": None},
        {"id": 93, "sha": d.MERGE_SHA, "status": "failed", "name": "shiplane/prod",
         "description": "check failed", "target_url": "https://shiplane.example/p/2"},
        {"id": 92, "sha": d.MERGE_SHA, "status": "success", "name": "build",
         "description": None, "target_url": None},
    ]  # fmt: skip
    replay.on("GET", f"{GL}/repository/commits/{d.MERGE_SHA}/statuses", (200, listed))
    forge = driver("gitlab", replay)

    async def scenario() -> list[CommitStatus]:
        await forge.set_status(d.MERGE_SHA, CommitStatus("failure", "shiplane/prod", "failed"))
        return await forge.statuses(d.MERGE_SHA)

    assert run(forge, scenario) == [
        CommitStatus("success", "build", "", None),
        CommitStatus("failure", "shiplane/prod", "check failed", "https://shiplane.example/p/2"),
    ]
    [posted] = replay.sent("POST", f"{GL}/statuses/{d.MERGE_SHA}")
    assert body_of(posted) == {
        "state": "failed", "name": "shiplane/prod", "description": "failed",
    }  # fmt: skip


# --- Gitea --------------------------------------------------------------------------------


def test_gitea_pages_through_open_pull_requests_to_find_the_head_branch() -> None:
    replay = Replay()
    others = [d.github_pull(n, head=f"other-{n}") for n in range(1, 51)]
    replay.on("GET", f"{GT}/pulls", (200, others), (200, [d.github_pull(77)]))
    forge = driver("gitea", replay)
    found = run(forge, lambda: forge.find_open_pull_request("promote-prod"))
    assert found is not None and found.number == 77
    pages = [r.url.params["page"] for r in replay.sent("GET", f"{GT}/pulls")]
    assert pages == ["1", "2"]
    assert replay.requests[0].headers["authorization"] == f"token {TOKEN}"


@pytest.mark.parametrize("kind", ["gitea", "github", "gitlab"])
def test_closing_a_pull_request_without_merging_it(kind: str) -> None:
    replay = Replay()
    if kind == "gitlab":
        method, path, answer = (
            "PUT",
            f"{GL}/merge_requests/1",
            d.gitlab_merge_request(1, state="closed"),
        )
        sent = {"state_event": "close"}
    else:
        method, path = "PATCH", f"{GH if kind == 'github' else GT}/pulls/1"
        answer, sent = d.github_pull(1, state="closed"), {"state": "closed"}
    replay.on(method, path, (200, answer))
    forge = driver(kind, replay)
    closed = run(forge, lambda: forge.close_pull_request(1))
    assert closed.state is PullRequestState.CLOSED and closed.number == 1
    [request] = replay.sent(method, path)
    assert body_of(request) == sent
