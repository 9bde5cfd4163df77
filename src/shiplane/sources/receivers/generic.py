"""`generic`: any CI, signed the way Shiplane signs its own outgoing webhooks.

Headers: `X-Shiplane-Timestamp` (Unix seconds), `X-Shiplane-Signature`
(`sha256=<hex HMAC-SHA256 over "<timestamp>." + body>`), optionally
`X-Shiplane-Delivery` (a unique id). A timestamp more than 5 minutes away from the
server's clock is stale. The body (docs/sources.md, "Receivers"):

    {"images": ["127.0.0.1:5000/shop/web:1.4.2",
                {"registry": "ghcr.io", "repository": "acme/api", "tag": "2.0.0"}],
     "git": [{"url": "https://git.example/shop/config.git", "ref": "refs/heads/main"}]}
"""

from __future__ import annotations

import hashlib
from typing import Any

from shiplane.config.models import ReceiverConfig
from shiplane.domain.webhook_signature import (
    HEADER_DELIVERY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    is_fresh,
    parse_timestamp,
    signature_matches,
)
from shiplane.sources.receivers.base import (
    Delivery,
    DeliveryRefused,
    GitChange,
    ImageChange,
    Parsed,
    Receiver,
    mapping,
    optional_text,
    register,
    require_header,
    split_image_url,
    text,
)

MAX_ITEMS = 100


def _image(item: Any, where: str, config: ReceiverConfig) -> ImageChange:
    if isinstance(item, str):
        host, repository, tag, digest = split_image_url(item)
    else:
        entry = mapping(item, where)
        host = text(entry.get("registry"), f"{where}.registry")
        repository = text(entry.get("repository"), f"{where}.repository")
        tag, digest = optional_text(entry.get("tag")), optional_text(entry.get("digest"))
    return ImageChange(config.registry or host, repository, tag, digest)


def _items(payload: dict[str, Any], key: str) -> list[Any]:
    value = payload.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise DeliveryRefused("malformed", f"'{key}' must be a list of at most {MAX_ITEMS}")
    return value


class GenericReceiver(Receiver):
    """Any CI: HMAC-SHA256 over timestamp.body, like Shiplane's outgoing webhooks."""

    type = "generic"

    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        signature = require_header(delivery, HEADER_SIGNATURE)
        sent = parse_timestamp(require_header(delivery, HEADER_TIMESTAMP))
        if sent is None:
            raise DeliveryRefused("unauthenticated", f"{HEADER_TIMESTAMP} is not Unix seconds")
        if not signature_matches(secret, sent, delivery.body, signature):
            raise DeliveryRefused("bad-signature", f"the {HEADER_SIGNATURE} does not match")
        # Checked after the signature, so an unauthenticated caller learns nothing of
        # the server's clock.
        if not is_fresh(sent, now):
            raise DeliveryRefused("stale", f"{HEADER_TIMESTAMP} is more than 5 minutes off")

    def delivery_id(self, delivery: Delivery) -> str | None:
        return optional_text(delivery.header(HEADER_DELIVERY))

    def fingerprint(self, delivery: Delivery) -> str:
        stamp = (delivery.header(HEADER_TIMESTAMP) or "").strip().encode()
        return hashlib.sha256(stamp + b"." + delivery.body).hexdigest()

    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        payload = mapping(delivery.json(), "the body")
        images = tuple(
            _image(item, f"images[{i}]", config) for i, item in enumerate(_items(payload, "images"))
        )
        commits = tuple(
            GitChange(
                text(mapping(item, f"git[{i}]").get("url"), f"git[{i}].url"),
                optional_text(item.get("ref")),
            )
            for i, item in enumerate(_items(payload, "git"))
        )
        if not images and not commits:
            raise DeliveryRefused("malformed", "the body names no 'images' and no 'git' changes")
        return Parsed("push", images=images, commits=commits)


register(GenericReceiver())
