"""The REST shape Gitea copied from GitHub, shared by the `gitea` and `github` drivers.

Both forges speak the same pull request, review and commit status objects under
`/repos/<owner>/<name>/...`, and sign webhook deliveries with an HMAC-SHA256 of the
body. A driver subclasses `GitHubStyleDriver` and keeps only what differs: the API
root, the auth headers, the webhook header names and how open pull requests are
listed (Gitea pages through all of them; GitHub filters by head on its side).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from shiplane.domain.webhook_signature import body_hmac_matches
from shiplane.forge.base import (
    CommitStatus,
    ForgeEvent,
    PullRequest,
    PullRequestEvent,
    PullRequestState,
    Review,
    WebhookRefused,
)
from shiplane.forge.events import (
    field,
    header,
    open_or_find,
    optional_text,
    payload,
    push_event,
    required_int,
    required_text,
)
from shiplane.forge.http import ForgeHttp, number, obj, text

_STATES = ("pending", "success", "failure", "error")


def pull_request_of(data: Any) -> PullRequest:
    """A Gitea or GitHub pull request object."""
    data = obj(data, "pull request")
    merged = bool(data.get("merged"))
    state = (
        PullRequestState.MERGED
        if merged
        else PullRequestState.OPEN
        if data.get("state") == "open"
        else PullRequestState.CLOSED
    )
    return PullRequest(
        number=number(data.get("number"), "number"),
        url=text(data.get("html_url"), "html_url"),
        head=text(field(data, "head", "ref"), "head.ref"),
        base=text(field(data, "base", "ref"), "base.ref"),
        title=str(data.get("title") or ""),
        state=state,
        head_sha=optional_text(field(data, "head", "sha")),
        merge_commit=optional_text(data.get("merge_commit_sha")) if merged else None,
    )


def approvals_of(reviews: Any) -> list[Review]:
    """Users whose latest (not dismissed, not stale) review approves."""
    latest: dict[str, dict[str, Any]] = {}
    for review in reviews if isinstance(reviews, list) else []:
        user = field(review, "user", "login")
        if isinstance(user, str) and review.get("state") not in ("COMMENT", "COMMENTED"):
            latest[user] = review
    return [
        Review(user, optional_text(r.get("commit_id")))
        for user, r in sorted(latest.items())
        if r.get("state") == "APPROVED" and not r.get("dismissed") and not r.get("stale")
    ]


def statuses_of(combined: Any) -> list[CommitStatus]:
    """The `statuses` of a combined status: the newest per context."""
    found: dict[str, CommitStatus] = {}
    for item in field(combined, "statuses") or []:
        context, state = item.get("context"), item.get("state") or item.get("status")
        if isinstance(context, str) and state in _STATES and context not in found:
            found[context] = CommitStatus(
                state, context, str(item.get("description") or ""),
                optional_text(item.get("target_url")),
            )  # fmt: skip
    return sorted(found.values(), key=lambda s: s.context)


def pull_request_event(data: dict[str, Any], url: str) -> PullRequestEvent:
    """The event of a `pull_request` webhook delivery."""
    pull = pull_request_of(field(data, "pull_request"))
    return PullRequestEvent(
        repository_url=url,
        action=required_text(data, "action"),
        number=required_int(data, "pull_request", "number"),
        head=pull.head,
        base=pull.base,
        state=pull.state,
        merge_commit=pull.merge_commit,
    )


class GitHubStyleDriver:
    """Pull requests, reviews, commit statuses and webhooks of a GitHub-shaped API.

    A subclass sets `http` and `repository` in its constructor, the class attributes
    below, and `_open_pull_request_pages`."""

    name: str
    signature_header: ClassVar[str]
    """The webhook header carrying the body's HMAC (`signature_prefix` + hex)."""
    signature_prefix: ClassVar[str] = ""
    event_header: ClassVar[str]
    """The webhook header naming the event (`push`, `pull_request`), lower case."""
    review_params: ClassVar[Mapping[str, str | int] | None] = None
    """Query of the reviews listing (a page size where the forge's default is small)."""

    http: ForgeHttp
    repository: str

    @property
    def _repo(self) -> str:
        return f"/repos/{self.repository}"

    def _open_pull_request_pages(self, head: str, base: str | None) -> AsyncIterator[list[Any]]:
        """The raw open pull requests, a page at a time, that may be from `head`."""
        raise NotImplementedError

    async def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        async def create() -> PullRequest:
            made = await self.http.json(
                "POST",
                f"{self._repo}/pulls",
                json_body={"head": head, "base": base, "title": title, "body": body},
            )
            return pull_request_of(made)

        return await open_or_find(self, head, base, create)

    async def find_open_pull_request(
        self, head: str, base: str | None = None
    ) -> PullRequest | None:
        async for items in self._open_pull_request_pages(head, base):
            for item in items:
                pull = pull_request_of(item)
                if pull.head == head and (base is None or pull.base == base):
                    return pull
        return None

    async def pull_request(self, number: int) -> PullRequest:
        return pull_request_of(await self.http.json("GET", f"{self._repo}/pulls/{number}"))

    async def close_pull_request(self, number: int) -> PullRequest:
        return pull_request_of(
            await self.http.json(
                "PATCH", f"{self._repo}/pulls/{number}", json_body={"state": "closed"}
            )
        )

    async def approvals(self, number: int) -> list[Review]:
        reviews = await self.http.json(
            "GET", f"{self._repo}/pulls/{number}/reviews", params=self.review_params
        )
        return approvals_of(reviews)

    async def set_status(self, sha: str, status: CommitStatus) -> None:
        body: dict[str, Any] = {
            "state": status.state,
            "context": status.context,
            "description": status.description,
        }
        if status.target_url:
            body["target_url"] = status.target_url
        await self.http.call("POST", f"{self._repo}/statuses/{sha}", json_body=body)

    async def statuses(self, sha: str) -> list[CommitStatus]:
        return statuses_of(await self.http.json("GET", f"{self._repo}/commits/{sha}/status"))

    def verify_delivery(self, headers: Mapping[str, str], body: bytes, secret: str) -> None:
        given = header(headers, self.signature_header)
        if not body_hmac_matches(secret, body, given, prefix=self.signature_prefix):
            raise WebhookRefused(f"the {self.signature_header} signature does not match")

    def parse_delivery(self, headers: Mapping[str, str], body: bytes) -> ForgeEvent | None:
        event = headers.get(self.event_header, "").strip()
        if event not in ("push", "pull_request"):
            return None
        data = payload(body)
        url = required_text(data, "repository", "clone_url")
        return push_event(data, url) if event == "push" else pull_request_event(data, url)

    async def aclose(self) -> None:
        await self.http.aclose()
