"""`github`: GitHub and GitHub Enterprise Server through the REST API.

Token: `Authorization: Bearer <token>`; a fine-grained token on the repository with
"Pull requests: read and write", "Commit statuses: read and write" and "Contents:
read" (or a classic token with `repo`). GitHub does not run here: the driver is tested
against requests and answers built from GitHub's documented schemas. Webhooks:
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, `X-GitHub-Event` `push` or
`pull_request`.
https://docs.github.com/en/rest/pulls/pulls, .../rest/pulls/reviews,
https://docs.github.com/en/rest/commits/statuses,
https://docs.github.com/en/webhooks/webhook-events-and-payloads
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from shiplane.config.models import ForgeAccess, GitHubForgeConfig
from shiplane.domain.webhook_signature import body_hmac_matches
from shiplane.forge.base import (
    FORGES,
    CommitStatus,
    ForgeEvent,
    PullRequest,
    Review,
    WebhookRefused,
)
from shiplane.forge.events import header, open_or_find, payload, push_event, required_text
from shiplane.forge.gitea import approvals_of, pull_request_event, pull_request_of, statuses_of
from shiplane.forge.http import ForgeHttp

API_VERSION = "2022-11-28"
PAGE = 100


class GitHubDriver:
    """GitHub pull requests, reviews and commit statuses (see the module docstring)."""

    name = "github"

    def __init__(
        self,
        config: ForgeAccess,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert isinstance(config, GitHubForgeConfig)
        self.repository = config.repository
        self.owner = config.repository.split("/", 1)[0]
        self.http = ForgeHttp(
            "github",
            config.url,
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
            timeout=config.timeout,
            transport=transport,
        )

    @property
    def _repo(self) -> str:
        return f"/repos/{self.repository}"

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
        # `head` filters by `owner:branch` on GitHub's side.
        params: dict[str, str | int] = {"state": "open", "head": f"{self.owner}:{head}"}
        if base is not None:
            params["base"] = base
        params["per_page"] = PAGE
        found = await self.http.json("GET", f"{self._repo}/pulls", params=params)
        for item in found if isinstance(found, list) else []:
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
            "GET", f"{self._repo}/pulls/{number}/reviews", params={"per_page": PAGE}
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
        given = header(headers, "X-Hub-Signature-256")
        if not body_hmac_matches(secret, body, given, prefix="sha256="):
            raise WebhookRefused("the X-Hub-Signature-256 signature does not match")

    def parse_delivery(self, headers: Mapping[str, str], body: bytes) -> ForgeEvent | None:
        event = headers.get("x-github-event", "").strip()
        if event not in ("push", "pull_request"):
            return None
        data = payload(body)
        url = required_text(data, "repository", "clone_url")
        return push_event(data, url) if event == "push" else pull_request_event(data, url)

    async def aclose(self) -> None:
        await self.http.aclose()


FORGES.register("github", schema=GitHubForgeConfig, description="GitHub")(GitHubDriver)
