"""Pure helpers of the apply path: cleaning rendered objects, ownership markers, and reading
the API server's rejections (no I/O)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from shiplane.kube.apply_rest import KubeApiError, KubeForbiddenError
from shiplane.kube.ownership import (
    APP_LABEL,
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    OWNER_ANNOTATION,
    PRUNE_ANNOTATION,
    owner_value,
)

# Metadata the server owns. Sending managedFields in an apply is rejected, and a stale
# resourceVersion would turn the apply into an optimistic-concurrency conflict.
SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IMMUTABLE = (
    re.compile(r"field is immutable", re.I),
    re.compile(r"\bis immutable\b", re.I),
    re.compile(r"immutable field", re.I),
    # StatefulSet: "Forbidden: updates to statefulset spec for fields other than ..."
    re.compile(r"updates to \w+ spec for fields other than", re.I),
)


def clean(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without server-owned metadata (what a `kubectl get -o yaml` adds)."""
    out = copy.deepcopy(dict(obj))
    meta = out.get("metadata")
    meta = dict(meta) if isinstance(meta, Mapping) else {}
    for key in SERVER_METADATA:
        meta.pop(key, None)
    out["metadata"] = meta
    return out


def set_namespace(obj: dict[str, Any], namespaced: bool) -> None:
    """Cluster-scoped objects carry no namespace (a rendered one is dropped)."""
    if not namespaced:
        obj["metadata"].pop("namespace", None)


def label_value(value: str) -> str:
    """`value` as a valid label value (<= 63 chars of [A-Za-z0-9-_.], alphanumeric at both
    ends). Invalid characters become "-". The full value is always in the owner annotation."""
    if len(value) <= 63 and _LABEL_VALUE.match(value):
        return value
    text = re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", text)


def mark_owned(obj: dict[str, Any], environment: str, app: str) -> dict[str, Any]:
    """Add Shiplane's ownership labels and annotation (in place; returns `obj`)."""
    meta = obj.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    labels[ENVIRONMENT_LABEL] = label_value(environment)
    labels[APP_LABEL] = label_value(app)
    meta["labels"] = labels
    annotations = dict(meta.get("annotations") or {})
    annotations[OWNER_ANNOTATION] = owner_value(environment, app)
    meta["annotations"] = annotations
    return obj


def owned_by(live: Mapping[str, Any], environment: str, app: str) -> bool:
    """Whether a live object still carries Shiplane's ownership for (environment, app)."""
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE and annotations.get(
        OWNER_ANNOTATION
    ) == owner_value(environment, app)


def prune_opted_out(live: Mapping[str, Any]) -> bool:
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(PRUNE_ANNOTATION, "")).strip().lower() == "false"


def missing_identity(obj: Mapping[str, Any]) -> list[str]:
    """Which of apiVersion, kind, metadata.name are missing."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return [
        label
        for label, value in (
            ("apiVersion", obj.get("apiVersion")),
            ("kind", obj.get("kind")),
            ("metadata.name", name),
        )
        if not value
    ]


def is_immutable_error(err: KubeApiError) -> bool:
    """An apply rejected because it changes a field that cannot change in place."""
    if err.code not in (400, 409, 422):
        return False
    if err.causes:
        # Every cause must be an immutability one: re-creating fixes nothing else.
        return all(any(p.search(c.message) for p in _IMMUTABLE) for c in err.causes)
    return any(p.search(err.message) for p in _IMMUTABLE)


def immutable_fields(err: KubeApiError) -> list[str]:
    fields = [c.field for c in err.causes if c.field]
    return list(dict.fromkeys(fields))


def join_fields(fields: Iterable[str]) -> str:
    items = list(fields)
    return ", ".join(items) if items else "a field"


_INVALID_VALUE = "Invalid value: "


def elide_value(message: str, limit: int = 80) -> str:
    """Shorten the dumped value in "Invalid value: <value>: <why>" (Go struct dumps can run
    to kilobytes) to keep a problem readable."""
    start = message.find(_INVALID_VALUE)
    if start < 0:
        return message
    begin = start + len(_INVALID_VALUE)
    end = message.rfind(": ")
    if end <= begin or end - begin <= limit:
        return message
    return f"{message[:begin]}{message[begin : begin + limit]}...{message[end:]}"


def describe(err: KubeApiError) -> str:
    """The API server's rejection, one readable line: per-field causes when it gave them;
    a permission error with how to grant the permission."""
    if isinstance(err, KubeForbiddenError):
        return str(err)
    causes = [c for c in err.causes if c.message]
    if not causes:
        return elide_value(err.message)
    return "; ".join(
        f"{c.field}: {elide_value(c.message)}" if c.field else elide_value(c.message)
        for c in causes
    )
