"""`gitlab`: GitLab project or group webhooks: "Push Hook", "Tag Push Hook" and
"Merge Request Hook".

GitLab sends the webhook's secret token as it is in `X-Gitlab-Token` (no signature),
the event in `X-Gitlab-Event`, and a unique id in `Idempotency-Key` (GitLab 17.4+) or
`X-Gitlab-Event-UUID`. A push names `ref` (`refs/heads/main`, `refs/tags/v1`) and
`project.git_http_url`. A "Merge Request Hook" names `object_attributes.iid` and
`project.git_http_url` (pull-request promotions). Other events are ignored. (GitLab's
container registry sends no GitLab webhook; point its notifications at a `distribution`
receiver.)
https://docs.gitlab.com/user/project/integrations/webhook_events/
"""

from __future__ import annotations

from typing import Any

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers.base import (
    Delivery,
    DeliveryRefused,
    Parsed,
    PullChange,
    Receiver,
    mapping,
    optional_text,
    pushed,
    register,
    require_token,
    text,
)

PUSH_EVENTS = ("Push Hook", "Tag Push Hook", "System Hook")


class GitLabReceiver(Receiver):
    """GitLab push and tag push webhooks (X-Gitlab-Token)."""

    type = "gitlab"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_token(delivery.header("x-gitlab-token"), secret, "X-Gitlab-Token header")

    def delivery_id(self, delivery: Delivery) -> str | None:
        return optional_text(delivery.header("idempotency-key")) or optional_text(
            delivery.header("x-gitlab-event-uuid")
        )

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        event = (delivery.header("x-gitlab-event") or "").strip()
        if event == "Merge Request Hook":
            return Parsed(event, pulls=(_merge_request(mapping(delivery.json(), "the payload")),))
        if event not in PUSH_EVENTS:
            return Parsed(event or "unknown", ignored=f"event {event!r} is not acted on"[:120])
        payload = mapping(delivery.json(), "the payload")
        kind = payload.get("object_kind") or payload.get("event_name")
        if kind not in ("push", "tag_push"):
            return Parsed(event, ignored=f"object_kind {kind!r} is not a push"[:120])
        project = payload.get("project")
        repository = payload.get("repository")
        url = (
            optional_text(project.get("git_http_url")) if isinstance(project, dict) else None
        ) or (
            optional_text(repository.get("git_http_url")) if isinstance(repository, dict) else None
        )
        url = text(url, "project.git_http_url")
        return Parsed(event, commits=(pushed(payload, url),))


def _merge_request(payload: dict[str, Any]) -> PullChange:
    project = mapping(payload.get("project"), "project")
    url = text(optional_text(project.get("git_http_url")), "project.git_http_url")
    attributes = mapping(payload.get("object_attributes"), "object_attributes")
    iid = attributes.get("iid")
    if not isinstance(iid, int) or isinstance(iid, bool) or iid < 1:
        raise DeliveryRefused("malformed", "object_attributes.iid is missing or not a number")
    return PullChange(url, iid, str(attributes.get("action") or "")[:40])


register(GitLabReceiver())
