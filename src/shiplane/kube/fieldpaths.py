"""Paths into objects and how values compare: the pure vocabulary of the diff.

A path is a tuple of segments: ("f", name) a map key, ("k", {key fields}) an item of an
associative list, ("i", index) a list position, ("v", value) a member of a set list.
Paths are rendered like `spec.template.spec.containers[name=main].image`; map keys that
contain dots or slashes are quoted: `metadata.labels["app.kubernetes.io/name"]`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any


class _Absent:
    """Marker for a field that is not there (distinct from an explicit null)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


Segment = tuple[str, Any]
Path = tuple[Segment, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _format_scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render_path(path: Path) -> str:
    out = ""
    for kind, value in path:
        if kind == "f":
            name = str(value)
            if _PLAIN_KEY.match(name):
                out += f".{name}" if out else name
            else:
                out += f"[{json.dumps(name)}]"
        elif kind == "k":
            inner = ",".join(f"{k}={_format_scalar(v)}" for k, v in sorted(value.items()))
            out += f"[{inner}]"
        elif kind == "v":
            out += f"[={_format_scalar(value)}]"
        else:
            out += f"[{value}]"
    return out


_QUANTITY = re.compile(
    r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)
_SUFFIX = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match:
            try:
                return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
            except InvalidOperation:
                return None
    return None


def equivalent(desired: Any, live: Any) -> bool:
    """Equal up to what the API server normalizes: numbers (1 == 1.0), resource
    quantities ("500m" == "0.5", "1Gi" == "1024Mi"), and empty vs absent collections."""
    if isinstance(desired, bool) != isinstance(live, bool):
        return False
    if desired == live:
        return True
    if desired is ABSENT or live is ABSENT:
        other = live if desired is ABSENT else desired
        return other in ({}, [], None)
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        keys = set(desired) | set(live)
        return all(equivalent(desired.get(k, ABSENT), live.get(k, ABSENT)) for k in keys)
    if isinstance(desired, list) and isinstance(live, list):
        return len(desired) == len(live) and all(map(equivalent, desired, live))
    if isinstance(desired, str | int | float) and isinstance(live, str | int | float):
        a, b = _quantity(desired), _quantity(live)
        if a is not None and b is not None and (isinstance(desired, str) or isinstance(live, str)):
            return a == b
        if not isinstance(desired, str) and not isinstance(live, str):
            return a == b
    return False


# lists of objects: matching items by key fields

_KNOWN_KEYS: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("containerPort", "protocol"),
    ("port", "protocol"),
    ("mountPath",),
    ("devicePath",),
    ("ip",),
    ("type",),
    ("key",),
    ("topologyKey",),
)


def guess_keys(items: Sequence[Any]) -> tuple[str, ...]:
    for keys in _KNOWN_KEYS:
        if items and all(isinstance(i, Mapping) and keys[0] in i for i in items):
            return keys
    return ()


def matches(item: Mapping[str, Any], key: Mapping[str, Any]) -> bool:
    """`item` matches an associative-list key when every key field it has is equal (a
    field the item omits, e.g. a defaulted `protocol`, does not prevent the match)."""
    present = [k for k in key if k in item]
    return bool(present) and all(equivalent(item[k], key[k]) for k in present)


def find_item(
    items: Sequence[Any], item: Mapping[str, Any], keys: Sequence[str], index: int
) -> Any:
    if keys:
        key = {k: item[k] for k in keys if k in item}
        for candidate in items:
            if isinstance(candidate, Mapping) and matches(candidate, key):
                return candidate
        return ABSENT
    return items[index] if index < len(items) else ABSENT


def get_path(obj: Any, path: Path) -> Any:
    """The value at `path` in `obj`, or ABSENT."""
    value = obj
    for kind, key in path:
        if kind == "f":
            if not isinstance(value, Mapping) or key not in value:
                return ABSENT
            value = value[key]
        elif kind == "k":
            if not isinstance(value, list):
                return ABSENT
            value = next((i for i in value if isinstance(i, Mapping) and matches(i, key)), ABSENT)
        elif kind == "v":
            if not isinstance(value, list) or key not in value:
                return ABSENT
            value = key
        elif kind == "i":
            if not isinstance(value, list) or key >= len(value):
                return ABSENT
            value = value[key]
        if value is ABSENT:
            return ABSENT
    return value
