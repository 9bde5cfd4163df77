"""`distribution`: the OCI distribution registry's notifications (Debian's
`docker-registry`, registry:2, and the registries built on it).

The registry POSTs an envelope `{"events": [...]}`; each event has an `action` and a
`target` (mediaType, digest, repository, url, tag), a `request` (its `host`) and an
`id`. Only `push` events of manifests and indexes count: blob pushes and pulls are
ignored. The registry authenticates with the headers of its endpoint configuration:
`headers: {Authorization: [Bearer <secret>]}` (the bare secret is accepted too).
https://distribution.github.io/distribution/about/notifications/
"""

from __future__ import annotations

from typing import Any

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

MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json"
_MANIFEST_WORDS = ("manifest", "image.index")


def _is_manifest(target: dict[str, Any]) -> bool:
    media_type = str(target.get("mediaType") or "")
    # A tag in the target only comes with manifests; older registries leave mediaType out.
    return any(word in media_type for word in _MANIFEST_WORDS) or bool(target.get("tag"))


def _host(event: dict[str, Any], target: dict[str, Any], config: ReceiverConfig) -> str:
    if config.registry:
        return config.registry
    request = event.get("request")
    host = optional_text(request.get("host")) if isinstance(request, dict) else None
    if host:
        return host
    url = optional_text(target.get("url"))
    if url:
        return split_image_url(url)[0]
    raise DeliveryRefused("malformed", "a push event names no registry host (request.host)")


class DistributionReceiver(Receiver):
    """The OCI distribution registry's notifications (push events of manifests)."""

    type = "distribution"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        require_token(delivery.header("authorization"), secret, "Authorization header")

    def delivery_id(self, delivery: Delivery) -> str | None:
        try:
            events = mapping(delivery.json(), "the envelope").get("events")
        except DeliveryRefused:
            return None
        if not isinstance(events, list):
            return None
        ids = [str(e.get("id")) for e in events if isinstance(e, dict) and e.get("id")]
        return ",".join(sorted(ids))[:500] or None

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        envelope = mapping(delivery.json(), "the envelope")
        events = envelope.get("events")
        if not isinstance(events, list):
            raise DeliveryRefused("malformed", "the envelope has no 'events' list")
        changes: list[ImageChange] = []
        for index, raw in enumerate(events):
            event = mapping(raw, f"events[{index}]")
            if event.get("action") != "push":
                continue
            target = mapping(event.get("target"), f"events[{index}].target")
            if not _is_manifest(target):
                continue
            repository = text(
                target.get("repository") or event.get("repository"),
                f"events[{index}].target.repository",
            )
            change = ImageChange(
                host=_host(event, target, config),
                repository=repository,
                tag=optional_text(target.get("tag")),
                digest=optional_text(target.get("digest")),
            )
            if change not in changes:
                changes.append(change)
        if not changes:
            return Parsed("push", ignored="no manifest push in the envelope")
        return Parsed("push", images=tuple(changes))


register(DistributionReceiver())
