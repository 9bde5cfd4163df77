"""`dockerhub`: Docker Hub repository webhooks.

Docker Hub POSTs `{"callback_url", "push_data": {"pushed_at", "pusher", "tag"},
"repository": {"repo_name": "namespace/name", ...}}` on every push, and offers no
signature or header: the secret goes in the URL, `?token=<secret>` (keep the webhook URL
private; Shiplane never logs query strings).
https://docs.docker.com/docker-hub/repos/manage/webhooks/
"""

from __future__ import annotations

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers.base import (
    Delivery,
    ImageChange,
    Parsed,
    Receiver,
    mapping,
    optional_text,
    register,
    require_token,
    text,
)

DOCKER_HUB = "docker.io"


class DockerHubReceiver(Receiver):
    """Docker Hub push webhooks (token in the URL's query)."""

    type = "dockerhub"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_token(delivery.query.get("token"), secret, "query parameter 'token'")

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        payload = mapping(delivery.json(), "the payload")
        push = mapping(payload.get("push_data"), "push_data")
        repository = mapping(payload.get("repository"), "repository")
        name = text(repository.get("repo_name"), "repository.repo_name")
        if "/" not in name:
            name = f"library/{name}"  # official images live under library/
        change = ImageChange(
            host=config.registry or DOCKER_HUB, repository=name, tag=optional_text(push.get("tag"))
        )
        return Parsed("push", images=(change,))


register(DockerHubReceiver())
