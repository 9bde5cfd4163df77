"""`github`: GitHub and GitHub Enterprise Server through the REST API.

Token: `Authorization: Bearer <token>`; a fine-grained token on the repository with
"Pull requests: read and write", "Commit statuses: read and write" and "Contents:
read" (or a classic token with `repo`). GitHub does not run here: the driver is tested
against requests and answers built from GitHub's documented schemas. Webhooks:
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, `X-GitHub-Event` `push` or
`pull_request`. The REST shape it shares with Gitea is in github_style.py.
https://docs.github.com/en/rest/pulls/pulls, .../rest/pulls/reviews,
https://docs.github.com/en/rest/commits/statuses,
https://docs.github.com/en/webhooks/webhook-events-and-payloads
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from shiplane.config.models import ForgeAccess, GitHubForgeConfig
from shiplane.forge.base import FORGES
from shiplane.forge.github_style import GitHubStyleDriver
from shiplane.forge.http import ForgeHttp

API_VERSION = "2022-11-28"
PAGE = 100


class GitHubDriver(GitHubStyleDriver):
    """GitHub pull requests, reviews and commit statuses (see the module docstring)."""

    name = "github"
    signature_header = "X-Hub-Signature-256"
    signature_prefix = "sha256="
    event_header = "x-github-event"
    review_params = {"per_page": PAGE}

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

    async def _open_pull_request_pages(
        self, head: str, base: str | None
    ) -> AsyncIterator[list[Any]]:
        # `head` filters by `owner:branch` on GitHub's side: one page is enough.
        params: dict[str, str | int] = {"state": "open", "head": f"{self.owner}:{head}"}
        if base is not None:
            params["base"] = base
        params["per_page"] = PAGE
        found = await self.http.json("GET", f"{self._repo}/pulls", params=params)
        yield found if isinstance(found, list) else []


FORGES.register("github", schema=GitHubForgeConfig, description="GitHub")(GitHubDriver)
