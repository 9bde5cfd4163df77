"""Objects known to be in effect, so that a deploy need not ask the cluster about them.

After this process applies an object (or a dry-run answers exactly the live object), it
remembers, per cluster and object, a digest of what it sent and the resourceVersion the
object had then. When a later render sends the same object and the watch cache still
holds that resourceVersion, nobody has written the object since: a dry-run would answer
the live object and an apply would write nothing, so neither is sent. (A release train
changes its Deployments' images and leaves the Services and ConfigMaps as they were:
those cost no request.) Anything else (a new body, a change by anyone, an object the
watch cache does not hold) is dry-run and applied as always.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import resource_version_of

# Kinds whose dry-run also tells the rest of the batch something (that a Namespace or a
# CRD exists): always sent.
_ALWAYS_SENT = frozenset({("", "Namespace"), ("apiextensions.k8s.io", "CustomResourceDefinition")})


def sent_digest(obj: dict[str, Any], environment: str, app: str) -> str:
    """What identifies an object as sent: its rendered body and its owner (the
    ownership markers apply adds are a function of both)."""
    body = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{environment}\0{app}\0{body}".encode()).hexdigest()


class KnownApplied:
    """(cluster, object) -> (digest of what was sent, resourceVersion then)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._known: dict[tuple[str, ObjRef], tuple[str, str]] = {}
        self._limit = limit  # objects remembered; past it, the oldest are forgotten

    def remember(self, cluster: str, ref: ObjRef, digest: str, version: str | None) -> None:
        key = (cluster, ref)
        self._known.pop(key, None)
        if version is None:
            return
        self._known[key] = (digest, version)
        while len(self._known) > self._limit:
            del self._known[next(iter(self._known))]

    def in_effect(
        self, cluster: str, ref: ObjRef, digest: str, live: dict[str, Any] | None
    ) -> bool:
        """Whether `live` (the watch cache's copy, None: not known) is the object as this
        process left it after sending exactly `digest`."""
        if live is None or (ref.group, ref.kind) in _ALWAYS_SENT:
            return False
        version = resource_version_of(live)
        return version is not None and self._known.get((cluster, ref)) == (digest, version)

    def __len__(self) -> int:
        return len(self._known)
