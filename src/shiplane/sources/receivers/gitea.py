"""`gitea`: Gitea (and Forgejo) webhooks, `push`, `pull_request` and `package`.

Gitea signs the body: `X-Gitea-Signature: <hex HMAC-SHA256 of the body>` with the
webhook's secret; `X-Gitea-Event` names the event and `X-Gitea-Delivery` is a unique id.
A `push` names `ref` and `repository.clone_url`; a `package` event with action
`created` and `package.type` `container` names `package.owner.login`, `package.name`,
`package.version` (the tag) and `package.html_url` (on the registry's host). A
`pull_request` names `number` and `repository.clone_url` (pull-request promotions:
engine/pull_request_hooks.py).
https://docs.gitea.com/usage/webhooks
"""

from __future__ import annotations

from urllib.parse import urlsplit

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers.base import (
    Delivery,
    DeliveryRefused,
    ImageChange,
    Parsed,
    Receiver,
    mapping,
    optional_text,
    pull_changed,
    pushed,
    register,
    require_body_hmac,
    text,
)


class GiteaReceiver(Receiver):
    """Gitea push and container package webhooks (X-Gitea-Signature)."""

    type = "gitea"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_body_hmac(delivery, "X-Gitea-Signature", secret, prefix="")

    def delivery_id(self, delivery: Delivery) -> str | None:
        return optional_text(delivery.header("x-gitea-delivery"))

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        event = (delivery.header("x-gitea-event") or "").strip()
        if event == "push":
            payload = mapping(delivery.json(), "the payload")
            repository = mapping(payload.get("repository"), "repository")
            url = text(repository.get("clone_url"), "repository.clone_url")
            return Parsed(event, commits=(pushed(payload, url),))
        if event == "pull_request":
            return Parsed(event, pulls=(pull_changed(mapping(delivery.json(), "the payload")),))
        if event == "package":
            payload = mapping(delivery.json(), "the payload")
            if payload.get("action") != "created":
                return Parsed(event, ignored="package action is not 'created'")
            package = mapping(payload.get("package"), "package")
            if package.get("type") != "container":
                return Parsed(event, ignored="not a container package")
            owner = mapping(package.get("owner"), "package.owner")
            host = urlsplit(text(package.get("html_url"), "package.html_url")).netloc
            if not host:
                raise DeliveryRefused("malformed", "package.html_url has no host")
            path = f"{text(owner.get('login'), 'package.owner.login')}/" + text(
                package.get("name"), "package.name"
            )
            change = ImageChange(
                config.registry or host, path.lower(), optional_text(package.get("version"))
            )
            return Parsed(event, images=(change,))
        return Parsed(event or "unknown", ignored=f"event {event!r} is not acted on"[:120])


register(GiteaReceiver())
