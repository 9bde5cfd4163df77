"""`quay`: Quay (quay.io, Red Hat Quay) repository notifications, "Repository Push".

Quay POSTs `{"repository": "ns/repo", "namespace", "name", "docker_url":
"quay.io/ns/repo", "homepage", "updated_tags": ["latest"]}` (older versions send
`updated_tags` as a map of tag to image id). Build events carry a `build_id` and are
ignored. Quay's webhook notification has no signature: the secret goes in the URL,
`?token=<secret>`.
https://docs.redhat.com/en/documentation/red_hat_quay/3.4/html/use_red_hat_quay/repository_notifications
"""

from __future__ import annotations

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers.base import (
    Delivery,
    ImageChange,
    Parsed,
    Receiver,
    mapping,
    register,
    require_token,
    split_image_url,
    text,
)


class QuayReceiver(Receiver):
    """Quay repository push notifications (token in the URL's query)."""

    type = "quay"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_token(delivery.query.get("token"), secret, "query parameter 'token'")

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        payload = mapping(delivery.json(), "the payload")
        if "build_id" in payload:
            return Parsed("build", ignored="a build notification, not a push")
        host, repository, _tag, _digest = split_image_url(
            text(payload.get("docker_url"), "docker_url")
        )
        tags = payload.get("updated_tags") or []
        names = sorted(tags) if isinstance(tags, dict) else tags
        found: list[str | None] = [t.strip() for t in names if isinstance(t, str) and t.strip()]
        found = found or [None]
        host = config.registry or host
        return Parsed("push", images=tuple(ImageChange(host, repository, tag) for tag in found))


register(QuayReceiver())
