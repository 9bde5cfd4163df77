"""`gitlab`: GitLab.com and self-managed GitLab through the REST API v4.

Token: `PRIVATE-TOKEN: <token>`, a project (or personal) access token with the `api`
scope and at least the Developer role. A pull request is a merge request; its number
is the `iid`. GitLab does not run here: the driver is tested against requests and
answers built from GitLab's documented schemas. Webhooks: GitLab sends the secret token
as it is in `X-Gitlab-Token`; `X-Gitlab-Event` is `Push Hook` or `Merge Request Hook`.
https://docs.gitlab.com/api/merge_requests/, https://docs.gitlab.com/api/merge_request_approvals/,
https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit,
https://docs.gitlab.com/user/project/integrations/webhook_events/
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from shiplane.config.models import ForgeAccess, GitLabForgeConfig
from shiplane.domain.webhook_signature import token_matches
from shiplane.forge.base import (
    FORGES,
    CommitState,
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

PAGE = 100
# Shiplane's states -> GitLab's commit status states, and back.
TO_GITLAB: dict[str, str] = {
    "pending": "pending",
    "success": "success",
    "failure": "failed",
    "error": "failed",
}
FROM_GITLAB: dict[str, CommitState] = {
    "pending": "pending",
    "running": "pending",
    "created": "pending",
    "success": "success",
    "failed": "failure",
    "canceled": "error",
    "skipped": "error",
}


def merge_request_of(data: Any) -> PullRequest:
    data = obj(data, "merge request")
    state = {"opened": PullRequestState.OPEN, "merged": PullRequestState.MERGED}.get(
        str(data.get("state")), PullRequestState.CLOSED
    )
    merged = state is PullRequestState.MERGED
    merge_commit = optional_text(data.get("merge_commit_sha")) or optional_text(
        data.get("squash_commit_sha")
    )
    return PullRequest(
        number=number(data.get("iid"), "iid"),
        url=text(data.get("web_url"), "web_url"),
        head=text(data.get("source_branch"), "source_branch"),
        base=text(data.get("target_branch"), "target_branch"),
        title=str(data.get("title") or ""),
        state=state,
        head_sha=optional_text(data.get("sha")),
        merge_commit=merge_commit if merged else None,
    )


class GitLabDriver:
    """GitLab merge requests, approvals and commit statuses (see the module docstring)."""

    name = "gitlab"

    def __init__(
        self,
        config: ForgeAccess,
        token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert isinstance(config, GitLabForgeConfig)
        self.repository = config.repository
        self.http = ForgeHttp(
            "gitlab",
            f"{config.url.rstrip('/')}/api/v4",
            {"PRIVATE-TOKEN": token},
            timeout=config.timeout,
            transport=transport,
        )

    @property
    def _project(self) -> str:
        return f"/projects/{quote(self.repository, safe='')}"

    async def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        async def create() -> PullRequest:
            made = await self.http.json(
                "POST",
                f"{self._project}/merge_requests",
                json_body={
                    "source_branch": head,
                    "target_branch": base,
                    "title": title,
                    "description": body,
                },
            )
            return merge_request_of(made)

        return await open_or_find(self, head, base, create)

    async def find_open_pull_request(
        self, head: str, base: str | None = None
    ) -> PullRequest | None:
        params: dict[str, str | int] = {"state": "opened", "source_branch": head, "per_page": PAGE}
        if base is not None:
            params["target_branch"] = base
        found = await self.http.json("GET", f"{self._project}/merge_requests", params=params)
        for item in found if isinstance(found, list) else []:
            pull = merge_request_of(item)
            if pull.head == head and (base is None or pull.base == base):
                return pull
        return None

    async def pull_request(self, number: int) -> PullRequest:
        return merge_request_of(
            await self.http.json("GET", f"{self._project}/merge_requests/{number}")
        )

    async def close_pull_request(self, number: int) -> PullRequest:
        return merge_request_of(
            await self.http.json(
                "PUT",
                f"{self._project}/merge_requests/{number}",
                json_body={"state_event": "close"},
            )
        )

    async def approvals(self, number: int) -> list[Review]:
        data = await self.http.json("GET", f"{self._project}/merge_requests/{number}/approvals")
        users = [field(a, "user", "username") for a in field(data, "approved_by") or []]
        return [Review(u) for u in sorted({u for u in users if isinstance(u, str)})]

    async def set_status(self, sha: str, status: CommitStatus) -> None:
        body: dict[str, Any] = {
            "state": TO_GITLAB[status.state],
            "name": status.context,
            "description": status.description,
        }
        if status.target_url:
            body["target_url"] = status.target_url
        await self.http.call("POST", f"{self._project}/statuses/{sha}", json_body=body)

    async def statuses(self, sha: str) -> list[CommitStatus]:
        items = await self.http.json(
            "GET",
            f"{self._project}/repository/commits/{sha}/statuses",
            params={"per_page": PAGE},
        )
        found: dict[str, CommitStatus] = {}
        # Newest first is not promised: keep the one with the highest id per name.
        ordered = sorted(
            (i for i in items or [] if isinstance(i, dict)),
            key=lambda i: int(i.get("id") or 0),
            reverse=True,
        )
        for item in ordered:
            name, state = item.get("name"), FROM_GITLAB.get(str(item.get("status")))
            if isinstance(name, str) and state is not None and name not in found:
                found[name] = CommitStatus(
                    state, name, str(item.get("description") or ""),
                    optional_text(item.get("target_url")),
                )  # fmt: skip
        return sorted(found.values(), key=lambda s: s.context)

    def verify_delivery(self, headers: Mapping[str, str], body: bytes, secret: str) -> None:
        if not token_matches(secret, header(headers, "X-Gitlab-Token")):
            raise WebhookRefused("the X-Gitlab-Token does not match")

    def parse_delivery(self, headers: Mapping[str, str], body: bytes) -> ForgeEvent | None:
        event = headers.get("x-gitlab-event", "").strip()
        if event == "Push Hook":
            data = payload(body)
            return push_event(data, required_text(data, "project", "git_http_url"))
        if event != "Merge Request Hook":
            return None
        data = payload(body)
        attributes = field(data, "object_attributes")
        pull = merge_request_of(attributes)
        return PullRequestEvent(
            repository_url=required_text(data, "project", "git_http_url"),
            action=optional_text(field(attributes, "action")) or "update",
            number=required_int(attributes, "iid"),
            head=pull.head,
            base=pull.base,
            state=pull.state,
            merge_commit=pull.merge_commit,
        )

    async def aclose(self) -> None:
        await self.http.aclose()


FORGES.register("gitlab", schema=GitLabForgeConfig, description="GitLab")(GitLabDriver)
