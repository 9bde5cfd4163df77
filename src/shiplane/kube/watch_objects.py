"""What the watch cache keeps, described: the kinds it watches (`ResourceKind`), lightkube
resources built for any kind, objects as plain dicts in compact form, and whether a
dry-run's answer is the cached live object itself. Pure apart from lightkube's types."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lightkube.core import resource as lk_resource
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    create_api_info,
)

from shiplane.kube.diff import LAST_APPLIED


class _HasResourceInfo(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def plural(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...


@dataclass(frozen=True)
class ResourceKind:
    """What is needed to list and watch a kind without API discovery."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def version(self) -> str:
        return self.api_version.split("/")[-1]

    @property
    def key(self) -> tuple[str, str]:
        return (self.api_version, self.kind)

    def __str__(self) -> str:
        return f"{self.kind}.{self.api_version}"

    @classmethod
    def of(cls, api_version: str, kind: str, *, namespaced: bool | None = None) -> ResourceKind:
        """Built-in kinds from lightkube's model registry; other kinds by convention
        (plural = lower-case kind + "s"/"es"/"ies", namespaced unless told otherwise)."""
        try:
            known = resource_registry.load(api_version, kind)
        except Exception:
            known = None
        if known is not None:
            info = lk_resource.api_info(known)
            return cls(
                api_version,
                kind,
                info.plural,
                issubclass(known, lk_resource.NamespacedResource),
            )
        return cls(
            api_version, kind, guess_plural(kind), True if namespaced is None else namespaced
        )

    @classmethod
    def from_info(cls, info: _HasResourceInfo) -> ResourceKind:
        """From discovery's ResourceInfo (or anything with the same attributes)."""
        api_version = f"{info.group}/{info.version}" if info.group else info.version
        return cls(api_version, info.kind, info.plural, info.namespaced)


def guess_plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"


KindSpec = ResourceKind | tuple[str, str]

_classes: dict[ResourceKind, type[Any]] = {}


def dict_resource(kind: ResourceKind) -> type[Any]:
    """A lightkube resource class whose objects decode to plain dicts (never registered
    globally, so it cannot clash with lightkube's typed models)."""
    cached = _classes.get(kind)
    if cached is not None:
        return cached
    base: type[Any] = GenericNamespacedResource if kind.namespaced else GenericGlobalResource
    api_info = create_api_info(kind.group, kind.version, kind.kind, kind.plural)
    cls = type(kind.kind, (base,), {"_api_info": api_info})
    _classes[kind] = cls
    return cls


def as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, dict):
            return result
    raise TypeError(f"cannot convert {type(obj).__name__} to a dict")


def compact(obj: dict[str, Any], field_manager: str = "shiplane") -> dict[str, Any]:
    """Drop what neither health nor drift needs: status-subresource managedFields entries
    of other managers (controllers' status writes, the bulk of managedFields) and the
    last-applied annotation. Mutates and returns `obj`."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    entries = meta.get("managedFields")
    if isinstance(entries, list):
        kept = [
            {k: v for k, v in e.items() if k in ("manager", "operation", "subresource", "fieldsV1")}
            for e in entries
            if isinstance(e, dict)
            and (e.get("manager") == field_manager or e.get("subresource") != "status")
        ]
        if kept:
            meta["managedFields"] = kept
        else:
            meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        annotations.pop(LAST_APPLIED)
    return obj


def answers_live(
    answer: Mapping[str, Any], live: Mapping[str, Any] | None, field_manager: str = "shiplane"
) -> bool:
    """Whether `answer` (a server-side dry-run apply's answer) is the cached `live` object
    itself: the same resourceVersion and, in compact form, the same content. Applying the
    same object would then write nothing, so it need not be sent."""
    if (
        live is None
        or resource_version_of(answer) is None
        or resource_version_of(answer) != resource_version_of(live)
    ):
        return False
    ours = compact(copy.deepcopy(dict(answer)), field_manager)
    theirs = compact(copy.deepcopy(dict(live)), field_manager)
    return ours == theirs


def resource_version_of(obj: Mapping[str, Any]) -> str | None:
    meta = obj.get("metadata")
    if isinstance(meta, Mapping):
        value = meta.get("resourceVersion")
        return str(value) if value else None
    return None
