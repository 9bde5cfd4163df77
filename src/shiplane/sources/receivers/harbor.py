"""`harbor`: Harbor project webhooks, event type `PUSH_ARTIFACT`.

Harbor POSTs (the "Default" payload format) `{"type": "PUSH_ARTIFACT", "occur_at",
"operator", "event_data": {"resources": [{"digest", "tag", "resource_url":
"harbor.example/library/app:1.0"}], "repository": {"name", "namespace",
"repo_full_name": "library/app", "repo_type"}}}`; the "CloudEvents" format wraps the
same `event_data` as `data` with type `harbor.artifact.pushed`. Other events (pull,
delete, scan...) are ignored. Harbor sends the webhook's "Auth Header" as the
`Authorization` header: set it to the secret (or `Bearer <secret>`).
https://goharbor.io/docs/latest/working-with-projects/project-configuration/configure-webhooks/
"""

from __future__ import annotations

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers.base import (
    Delivery,
    DeliveryRefused,
    ImageChange,
    Parsed,
    Receiver,
    mapping,
    optional_text,
    register,
    require_token,
    split_image_url,
    text,
)

PUSH_TYPES = ("PUSH_ARTIFACT", "pushImage", "harbor.artifact.pushed")


class HarborReceiver(Receiver):
    """Harbor artifact push webhooks (Authorization header)."""

    type = "harbor"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_token(delivery.header("authorization"), secret, "Authorization header")

    def delivery_id(self, delivery: Delivery) -> str | None:
        # Only the CloudEvents format has an id (`id`, or `ce-id` in binary mode).
        try:
            payload = delivery.json()
        except DeliveryRefused:
            return None
        if isinstance(payload, dict) and "specversion" in payload:
            return optional_text(payload.get("id"))
        return optional_text(delivery.header("ce-id"))

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        payload = mapping(delivery.json(), "the payload")
        if "specversion" in payload:  # CloudEvents format
            event, data = str(payload.get("type", "")), payload.get("data")
        else:
            event, data = str(payload.get("type", "")), payload.get("event_data")
        if event not in PUSH_TYPES:
            return Parsed(event or "unknown", ignored=f"event {event!r} is not a push"[:120])
        data = mapping(data, "event_data")
        repository = data.get("repository")
        full_name = (
            optional_text(repository.get("repo_full_name"))
            if isinstance(repository, dict)
            else None
        )
        resources = data.get("resources")
        if not isinstance(resources, list) or not resources:
            raise DeliveryRefused("malformed", "event_data.resources is missing or empty")
        changes: list[ImageChange] = []
        for index, raw in enumerate(resources):
            resource = mapping(raw, f"event_data.resources[{index}]")
            url = text(resource.get("resource_url"), f"resources[{index}].resource_url")
            host, path, _tag, _digest = split_image_url(url)
            changes.append(
                ImageChange(
                    host=config.registry or host,
                    repository=full_name or path,
                    tag=optional_text(resource.get("tag")),
                    digest=optional_text(resource.get("digest")),
                )
            )
        return Parsed(event, images=tuple(changes))


register(HarborReceiver())
