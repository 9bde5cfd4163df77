"""Server-side apply ownership: the fieldsV1 trees of `metadata.managedFields`, which
fields each manager owns, and who owns a path. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shiplane.kube.fieldpaths import Path, Segment

FieldSet = Mapping[str, Any]  # a fieldsV1 tree: {"f:spec": {"f:replicas": {}}, ...}


def managed_fieldsets(obj: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """manager name -> merged fieldsV1 of its entries (Apply and Update, any subresource)."""
    result: dict[str, dict[str, Any]] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, Mapping):
            continue
        manager = str(entry.get("manager") or "")
        fields = entry.get("fieldsV1")
        if isinstance(fields, Mapping):
            _merge(result.setdefault(manager, {}), fields)
    return result


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping):
            _merge(into.setdefault(key, {}), value)
        else:
            into.setdefault(key, {})


def _parse_key(entry: str) -> Segment:
    prefix, _, raw = entry.partition(":")
    if prefix == "f":
        return ("f", raw)
    if prefix == "k":
        return ("k", json.loads(raw))
    if prefix == "v":
        return ("v", json.loads(raw))
    if prefix == "i":
        return ("i", int(raw))
    return (prefix, raw)


def owned_paths(fieldset: FieldSet, prefix: Path = ()) -> Iterator[Path]:
    """Leaf paths of a fieldsV1 tree. A list whose members are `v:` values is one leaf."""
    children = [key for key in fieldset if key != "."]
    if not children:
        if prefix:
            yield prefix
        return
    if all(key.startswith("v:") for key in children):
        yield prefix
        return
    for key in children:
        value = fieldset[key]
        yield from owned_paths(
            value if isinstance(value, Mapping) else {}, (*prefix, _parse_key(key))
        )


def node_at(fieldset: FieldSet | None, segment: Segment) -> FieldSet | None:
    if fieldset is None:
        return None
    kind, value = segment
    if kind == "f":
        found = fieldset.get(f"f:{value}")
        return found if isinstance(found, Mapping) else None
    for key, child in fieldset.items():
        if key.startswith(f"{kind}:") and isinstance(child, Mapping):
            parsed = _parse_key(key)[1]
            if parsed == value:
                return child
    return None


def key_entries(fieldsets: Iterable[FieldSet | None]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for fieldset in fieldsets:
        for key in fieldset or {}:
            if key.startswith("k:"):
                parsed = json.loads(key[2:])
                if isinstance(parsed, dict) and parsed not in entries:
                    entries.append(parsed)
    return entries


def owners_of(fieldsets: Mapping[str, FieldSet], path: Path) -> tuple[str, ...]:
    owners = []
    for manager, fieldset in fieldsets.items():
        node: FieldSet | None = fieldset
        for segment in path:
            node = node_at(node, segment)
            if node is None:
                break
        if node is not None:
            owners.append(manager)
    return tuple(sorted(owners))
