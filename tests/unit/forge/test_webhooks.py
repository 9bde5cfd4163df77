"""Forge webhook deliveries: signatures verified in constant time, push and pull-request
payloads (as each forge documents them) parsed into events; others ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from shiplane.domain.push_payload import changed_paths
from shiplane.forge import (
    FORGES,
    ForgeDriver,
    PullRequestEvent,
    PullRequestState,
    PushEvent,
    WebhookRefused,
)
from tests.unit.forge import documented as d
from tests.unit.forge.replay import Replay
from tests.unit.forge.test_drivers import driver

SECRET = "hook-secret-0123"


def forge(kind: str) -> ForgeDriver:
    return driver(kind, Replay())


def hub(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()


PUSH: dict[str, Any] = {
    "ref": "refs/heads/main",
    "before": "0" * 40,
    "after": d.SHA,
    "commits": [
        {"id": "a1", "added": ["envs/dev/web/extra.yaml"], "removed": [], "modified": []},
        {"id": "a2", "added": [], "removed": ["envs/prod/api/x.yaml"], "modified": ["README.md"]},
    ],
    "repository": {"full_name": "shop/gitops", "clone_url": "https://forge.example/shop/gitops.git"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        ("gitea", lambda b, s: {"x-gitea-event": "push", "x-gitea-signature": hub(b, s)}),
        ("github", lambda b, s: {"x-github-event": "push", "x-hub-signature-256": f"sha256={hub(b, s)}"}),  # noqa: E501
        ("gitlab", lambda b, s: {"x-gitlab-event": "Push Hook", "x-gitlab-token": s}),
    ],
)  # fmt: skip
def test_a_signed_push_is_verified_and_parsed_and_a_forged_one_refused(
    kind: str, headers: Any
) -> None:
    payload: dict[str, Any] = dict(PUSH)
    if kind == "gitlab":
        payload["project"] = {"git_http_url": "https://forge.example/shop/gitops.git"}
        payload["total_commits_count"] = 2
    body = encoded(payload)
    driver_ = forge(kind)
    signed = headers(body, SECRET)
    driver_.verify_delivery(signed, body, SECRET)
    event = driver_.parse_delivery(signed, body)
    assert event == PushEvent(
        "https://forge.example/shop/gitops.git",
        "refs/heads/main",
        d.SHA,
        ("README.md", "envs/dev/web/extra.yaml", "envs/prod/api/x.yaml"),
    )
    with pytest.raises(WebhookRefused):
        driver_.verify_delivery(headers(body, SECRET + "x"), body, SECRET)
    with pytest.raises(WebhookRefused):  # the body was changed after signing
        driver_.verify_delivery(signed, body + b" ", SECRET) if kind != "gitlab" else (
            driver_.verify_delivery({**signed, "x-gitlab-token": ""}, body, SECRET)
        )


def test_github_pull_request_closed_merged_and_unmerged() -> None:
    github = forge("github")
    for merged, state in ((True, PullRequestState.MERGED), (False, PullRequestState.CLOSED)):
        payload = {
            "action": "closed",
            "number": 1347,
            "pull_request": d.github_pull(1347, state="closed", merged=merged),
            "repository": {"clone_url": "https://github.com/octocat/Hello-World.git"},
        }
        event = github.parse_delivery({"x-github-event": "pull_request"}, encoded(payload))
        assert event == PullRequestEvent(
            "https://github.com/octocat/Hello-World.git", "closed", 1347, "promote-prod",
            "main", state, d.MERGE_SHA if merged else None,
        )  # fmt: skip


def test_gitea_pull_request_opened() -> None:
    payload = {
        "action": "opened",
        "number": 3,
        "pull_request": d.github_pull(3),
        "repository": {"clone_url": "http://127.0.0.1:3000/shop/gitops.git"},
    }
    event = forge("gitea").parse_delivery({"x-gitea-event": "pull_request"}, encoded(payload))
    assert isinstance(event, PullRequestEvent)
    assert (event.action, event.number, event.state) == ("opened", 3, PullRequestState.OPEN)


def test_gitlab_merge_request_hook_merged() -> None:
    payload = {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "project": {"git_http_url": "http://gitlab.example.com/my-group/my-project.git"},
        "object_attributes": {**d.gitlab_merge_request(1, state="merged"), "action": "merge"},
    }
    event = forge("gitlab").parse_delivery(
        {"x-gitlab-event": "Merge Request Hook"}, encoded(payload)
    )
    assert event == PullRequestEvent(
        "http://gitlab.example.com/my-group/my-project.git", "merge", 1, "promote-prod", "main",
        PullRequestState.MERGED, d.MERGE_SHA,
    )  # fmt: skip


@pytest.mark.parametrize("kind", FORGES.names())
def test_other_events_are_ignored_and_malformed_bodies_refused(kind: str) -> None:
    driver_ = forge(kind)
    assert driver_.parse_delivery({f"x-{kind}-event": "issues"}, b"{}") is None
    event_header = {"gitea": ("x-gitea-event", "push"), "github": ("x-github-event", "push"),
                    "gitlab": ("x-gitlab-event", "Push Hook")}[kind]  # fmt: skip
    with pytest.raises(WebhookRefused):
        driver_.parse_delivery(dict([event_header]), b"not json")
    with pytest.raises(WebhookRefused):
        driver_.parse_delivery(dict([event_header]), b'{"ref": "refs/heads/main"}')
    with pytest.raises(WebhookRefused):  # no signature header at all
        driver_.verify_delivery({}, b"{}", SECRET)


def test_changed_paths_are_unknown_when_the_list_is_cut_or_incomplete() -> None:
    assert changed_paths({"commits": []}) == ()
    assert changed_paths({}) is None
    cut = {"commits": [{"added": ["a"], "modified": [], "removed": []}], "total_commits_count": 25}
    assert changed_paths(cut) is None
    assert changed_paths({"commits": [{"id": "x"}]}) is None  # files not listed
    assert changed_paths({"commits": [{"added": ["/a/", "a"], "modified": [], "removed": []}]}) == (
        "a",
    )
