"""Webhook receivers: one plugin per sender type in the `RECEIVERS` registry.

A receiver authenticates a delivery with its own secret and parses the provider's
documented payload into *where* something changed (`ImageChange`, `GitChange`). The
engine (`engine/hooks.py`) then asks the source service which sources watch that place
and refreshes them; nothing a payload says is fetched. See docs/sources.md, "Receivers".
"""

from shiplane.sources.receivers import (  # noqa: F401 (register)
    distribution,
    dockerhub,
    generic,
    gitea,
    github,
    gitlab,
    harbor,
    quay,
)
from shiplane.sources.receivers.base import (
    RECEIVERS,
    Delivery,
    DeliveryRefused,
    GitChange,
    ImageChange,
    Parsed,
    PullChange,
    Receiver,
    RefusalReason,
)

__all__ = [
    "RECEIVERS",
    "Delivery",
    "DeliveryRefused",
    "GitChange",
    "ImageChange",
    "Parsed",
    "PullChange",
    "Receiver",
    "RefusalReason",
]
