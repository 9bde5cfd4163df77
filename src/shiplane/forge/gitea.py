"""`gitea`: Gitea (and Forgejo) through its REST API, `<url>/api/v1`.

Token: `Authorization: token <token>`, a personal access token with `write:repository`
(pull requests, statuses) and `read:user`; tested against a real Gitea
(tests/integration/forge/). Webhooks: `X-Gitea-Signature` is the hex HMAC-SHA256 of
the body; `X-Gitea-Event` is `push` or `pull_request`. The REST shape it shares with
GitHub is in github_style.py.
https://docs.gitea.com/development/api-usage, https://docs.gitea.com/usage/webhooks
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from shiplane.config.models import ForgeAccess, GiteaForgeConfig
from shiplane.forge.base import FORGES
from shiplane.forge.github_style import GitHubStyleDriver
from shiplane.forge.http import ForgeHttp

PAGE = 50


class GiteaDriver(GitHubStyleDriver):
    """Gitea pull requests, reviews and commit statuses (see the module docstring)."""

    name = "gitea"
    signature_header = "X-Gitea-Signature"
    event_header = "x-gitea-event"

    def __init__(
        self,
        config: ForgeAccess,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert isinstance(config, GiteaForgeConfig)
        self.repository = config.repository
        self.http = ForgeHttp(
            "gitea",
            f"{config.url.rstrip('/')}/api/v1",
            {"Authorization": f"token {token}"},
            timeout=config.timeout,
            transport=transport,
        )

    async def _open_pull_request_pages(
        self, head: str, base: str | None
    ) -> AsyncIterator[list[Any]]:
        # Gitea's listing has no head filter: page through every open one.
        page = 1
        while True:
            found = await self.http.json(
                "GET",
                f"{self._repo}/pulls",
                params={"state": "open", "limit": PAGE, "page": page},
            )
            items = found if isinstance(found, list) else []
            yield items
            if len(items) < PAGE:
                return
            page += 1


FORGES.register("gitea", schema=GiteaForgeConfig, description="Gitea and Forgejo")(GiteaDriver)
