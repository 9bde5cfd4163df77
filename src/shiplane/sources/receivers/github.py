"""`github`: GitHub webhooks, `push` and `package` (and the older `registry_package`).

GitHub signs the body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` with
the webhook's secret; `X-GitHub-Event` names the event and `X-GitHub-Delivery` is a
unique id. A `push` names `ref` and `repository.clone_url`; a `package` event
(`action` published or updated) names `package.package_version.package_url`
(`ghcr.io/owner/name:tag`) for container packages. `ping` and other events are ignored.
https://docs.github.com/en/webhooks/webhook-events-and-payloads
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

from typing import Any

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers.base import (
    Delivery,
    ImageChange,
    Parsed,
    Receiver,
    mapping,
    optional_text,
    pull_changed,
    pushed,
    register,
    require_body_hmac,
    split_image_url,
    text,
)

GHCR = "ghcr.io"
CONTAINER_TYPES = ("container", "docker")


def _package_change(package: dict[str, Any], config: ReceiverConfig) -> ImageChange | None:
    if str(package.get("package_type", "")).lower() not in CONTAINER_TYPES:
        return None
    version = package.get("package_version")
    version = version if isinstance(version, dict) else {}
    url = optional_text(version.get("package_url"))
    tag = None
    metadata = version.get("container_metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("tag"), dict):
        tag = optional_text(metadata["tag"].get("name"))
    if url:
        host, repository, url_tag, _digest = split_image_url(url)
        tag = tag or url_tag
    else:
        owner = package.get("owner")
        login = optional_text(owner.get("login")) if isinstance(owner, dict) else None
        namespace = optional_text(package.get("namespace")) or login
        name = text(package.get("name"), "package.name")
        host = GHCR
        repository = f"{namespace}/{name}".lower() if namespace else name.lower()
    return ImageChange(config.registry or host, repository, tag)


class GitHubReceiver(Receiver):
    """GitHub push and package webhooks (X-Hub-Signature-256)."""

    type = "github"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_body_hmac(delivery, "X-Hub-Signature-256", secret, prefix="sha256=")

    def delivery_id(self, delivery: Delivery) -> str | None:
        return optional_text(delivery.header("x-github-delivery"))

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        event = (delivery.header("x-github-event") or "").strip()
        if event == "push":
            payload = mapping(delivery.json(), "the payload")
            repository = mapping(payload.get("repository"), "repository")
            url = text(
                repository.get("clone_url") or repository.get("html_url"), "repository.clone_url"
            )
            return Parsed(event, commits=(pushed(payload, url),))
        if event == "pull_request":
            return Parsed(event, pulls=(pull_changed(mapping(delivery.json(), "the payload")),))
        if event in ("package", "registry_package"):
            payload = mapping(delivery.json(), "the payload")
            action = str(payload.get("action", ""))
            if action not in ("published", "updated"):
                return Parsed(event, ignored=f"package action {action!r}"[:120])
            change = _package_change(mapping(payload.get(event), event), config)
            if change is None:
                return Parsed(event, ignored="not a container package")
            return Parsed(event, images=(change,))
        return Parsed(event or "unknown", ignored=f"event {event!r} is not acted on"[:120])


register(GitHubReceiver())
