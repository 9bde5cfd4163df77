"""Masking secret values wherever a diff or an object is shown: every value under a
Secret's `data`/`stringData`, and any value whose key (or list item name, e.g. an env
var) looks like a password, token, secret or key. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shiplane.kube.fieldpaths import ABSENT, Path, Segment

MASK = "***"
_SECRET_NAME = re.compile(
    r"(?i)(passw(or)?d|passwd|pwd|token|secret|api[-_]?key|credential|private[-_]?key)"
)
_REFERENCE_SUFFIX = re.compile(r"(?i)(name|ref|refs)$")


def _sensitive_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _REFERENCE_SUFFIX.search(name)


def is_sensitive(kind: str, path: Path) -> bool:
    """Whether a value at `path` of an object of `kind` must be masked."""
    if kind == "Secret" and path and path[0] in (("f", "data"), ("f", "stringData")):
        return True
    for seg_kind, value in path:
        if seg_kind == "f" and isinstance(value, str) and _sensitive_name(value):
            return True
        if seg_kind == "k" and isinstance(value, Mapping):
            name = value.get("name")
            if isinstance(name, str) and _sensitive_name(name) and path[-1] != ("f", "name"):
                return True
    return False


_PATH_WORD = re.compile(r"[A-Za-z0-9_-]+")


def is_sensitive_text(kind: str, path: str) -> bool:
    """`is_sensitive` for a path already rendered as text (`data.password`,
    `spec...env[name=DB_PASSWORD].value`), as stored drift details carry it: a Secret's
    data, or any key or list-item name that looks like a password, token, secret or key."""
    if kind == "Secret" and (path.startswith("data") or path.startswith("stringData")):
        return True
    words = _PATH_WORD.findall(path)
    last = path.rsplit(".", 1)[-1]
    return any(_sensitive_name(w) for w in words) and not _REFERENCE_SUFFIX.search(last)


def mask(obj: Any, *, kind: str | None = None, other: Any = None, mark: bool = True) -> Any:
    """A copy of `obj` with secret values replaced by "***": every value under a Secret's
    `data`/`stringData`, and any value whose key (or list item name, e.g. an env var)
    looks like a password, token, secret or key.

    With `other` (the other side of a diff), a masked value that differs from its
    counterpart reads "*** (changed)" (unless `mark` is false: use that for the other side
    of the diff), so a diff shows *that* it changed, never the value.
    """
    kind = kind if kind is not None else (obj.get("kind") if isinstance(obj, Mapping) else "")
    other = ABSENT if other is None or not mark else other
    return _mask(obj, str(kind or ""), (), other)


def _masked_leaf(value: Any, other: Any) -> str:
    if other is ABSENT or other == value:
        return MASK
    return f"{MASK} (changed)"


def _mask(value: Any, kind: str, path: Path, other: Any) -> Any:
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        other_map = other if isinstance(other, Mapping) else {}
        for key, item in value.items():
            child = (*path, ("f", key))
            counterpart = other_map.get(key, ABSENT) if other is not ABSENT else ABSENT
            if not isinstance(item, Mapping | list) and is_sensitive(kind, child):
                result[key] = _masked_leaf(item, counterpart)
            else:
                result[key] = _mask(item, kind, child, counterpart)
        return result
    if isinstance(value, list):
        out = []
        other_list = other if isinstance(other, list) else []
        for index, item in enumerate(value):
            seg: Segment = ("i", index)
            twin: Any = ABSENT
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                seg = ("k", {"name": item["name"]})
                twin = next(
                    (
                        o
                        for o in other_list
                        if isinstance(o, Mapping) and o.get("name") == item["name"]
                    ),
                    ABSENT,
                )
            elif index < len(other_list):
                twin = other_list[index]
            out.append(_mask(item, kind, (*path, seg), twin if other is not ABSENT else ABSENT))
        return out
    return value
