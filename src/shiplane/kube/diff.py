"""Pure diffing of desired vs live objects: normalization, the field-level diff of what
Shiplane owns (drift) and a readable unified diff, secrets masked.

The vocabulary lives beside it: paths and value comparison (`fieldpaths.py`), masking
(`masking.py`), server-side apply ownership (`managed_fields.py`).
"""

from __future__ import annotations

import base64
import copy
import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from shiplane.kube.fieldpaths import (
    ABSENT,
    Path,
    Segment,
    equivalent,
    find_item,
    get_path,
    guess_keys,
    matches,
    render_path,
)
from shiplane.kube.managed_fields import (
    FieldSet,
    key_entries,
    managed_fieldsets,
    node_at,
    owned_paths,
    owners_of,
)
from shiplane.kube.masking import MASK, is_sensitive, mask
from shiplane.kube.refs import ObjRef

FIELD_MANAGER = "shiplane"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_DROPPED_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


@dataclass(frozen=True)
class FieldDiff:
    """One field whose live value differs from the desired one.

    `desired`/`live` are None when the field is absent on that side; secret values are
    already masked. `ref` names the object, `managers` who own the field live now.
    """

    path: str
    desired: Any
    live: Any
    ref: ObjRef | None = None
    managers: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.ref} " if self.ref else ""
        by = f" (changed by {', '.join(self.managers)})" if self.managers else ""
        return f"{where}{self.path}: desired {self.desired!r}, live {self.live!r}{by}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref.to_json() if self.ref else None,
            "path": self.path,
            "desired": self.desired,
            "live": self.live,
            "managers": list(self.managers),
        }


def _secret_string_data(obj: dict[str, Any]) -> None:
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, Mapping):
        data = dict(obj.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _prune_to(live: Any, desired: Any) -> Any:
    """`live` restricted to the fields present in `desired` (drops server defaults)."""
    if isinstance(live, Mapping) and isinstance(desired, Mapping):
        return {k: _prune_to(live[k], desired[k]) for k in desired if k in live}
    if isinstance(live, list) and isinstance(desired, list):
        if all(isinstance(item, Mapping) for item in desired + live):
            keys = guess_keys(desired)
            result = []
            for index, item in enumerate(desired):
                match = find_item(live, item, keys, index)
                if match is not ABSENT:
                    result.append(_prune_to(match, item))
            # live items that desired does not have stay (they are a real difference)
            matched = {id(find_item(live, item, keys, i)) for i, item in enumerate(desired)}
            result.extend(item for item in live if id(item) not in matched)
            return result
        return live
    if not isinstance(live, Mapping | list) and equivalent(desired, live):
        return desired  # same value, the server's spelling ("500m" for "0.5")
    return live


def normalize(obj: Mapping[str, Any], desired: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A comparable copy: no status, no server-set metadata, no last-applied annotation;
    a Secret's `stringData` folded into base64 `data`. With `desired`, fields the server
    defaulted (present live, absent from desired) are dropped too."""
    result = copy.deepcopy(dict(obj))
    result.pop("status", None)
    meta = dict(result.get("metadata") or {})
    for key in _DROPPED_METADATA:
        meta.pop(key, None)
    annotations = dict(meta.get("annotations") or {})
    if LAST_APPLIED in annotations:
        annotations.pop(LAST_APPLIED)
        if annotations:
            meta["annotations"] = annotations
        else:
            meta.pop("annotations", None)
    result["metadata"] = meta
    if result.get("kind") == "Secret":
        _secret_string_data(result)
    if desired is not None:
        wanted = normalize(desired)
        pruned = _prune_to(result, wanted)
        assert isinstance(pruned, dict)
        # keep identity fields even if desired omitted them
        for key in ("apiVersion", "kind"):
            if key in result:
                pruned.setdefault(key, result[key])
        return pruned
    return result


def _leaves(
    desired: Any, live: Any, fieldsets: Mapping[str, FieldSet], path: Path
) -> Iterator[tuple[Path, Any, Any]]:
    """(path, desired value, live value) for every leaf of `desired`."""
    if isinstance(desired, Mapping) and desired:
        for key, value in desired.items():
            child_live = live.get(key, ABSENT) if isinstance(live, Mapping) else ABSENT
            yield from _leaves(value, child_live, fieldsets, (*path, ("f", key)))
        return
    if isinstance(desired, list) and desired and all(isinstance(i, Mapping) for i in desired):
        live_items = live if isinstance(live, list) else []
        nodes = [_resolve(fs, path) for fs in fieldsets.values()]
        entries = key_entries(nodes)
        guessed = guess_keys(desired)
        for index, item in enumerate(desired):
            entry = next((e for e in entries if matches(item, e)), None)
            if entry is not None:
                segment: Segment = ("k", entry)
                match = next(
                    (i for i in live_items if isinstance(i, Mapping) and matches(i, entry)), ABSENT
                )
            elif guessed:
                key = {k: item[k] for k in guessed if k in item}
                segment = ("k", key)
                match = find_item(live_items, item, guessed, index)
            else:
                segment = ("i", index)
                match = live_items[index] if index < len(live_items) else ABSENT
            yield from _leaves(item, match, fieldsets, (*path, segment))
        return
    yield path, desired, live


def _resolve(fieldset: FieldSet | None, path: Path) -> FieldSet | None:
    node = fieldset
    for segment in path:
        node = node_at(node, segment)
        if node is None:
            return None
    return node


def _is_prefix(short: Path, long: Path) -> bool:
    return len(short) <= len(long) and long[: len(short)] == short


def _plain(value: Any) -> Any:
    return None if value is ABSENT else value


def field_diff(
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    manager: str = FIELD_MANAGER,
    ref: ObjRef | None = None,
    ignore: Sequence[str] = (),
) -> list[FieldDiff]:
    """Fields Shiplane owns whose live value differs from the desired one, secrets masked.

    Owned fields are those of the desired object (server-side apply makes the applier own
    exactly what it sends) plus those the live `managedFields` entry of `manager` still
    claims (a field dropped from desired but still owned will be removed by the next apply,
    so it is drift too). Fields others added or the server defaulted are not compared.
    A missing live object is one diff at path "" (desired "<present>", live None).
    """
    if ref is None:
        ref = ObjRef.of(dict(desired))
    if live is None:
        return [FieldDiff("", "<present>", None, ref)]
    kind = str(desired.get("kind") or live.get("kind") or "")
    want = normalize(desired)
    have = normalize(live)
    # identity is not drift
    for side in (want, have):
        side.pop("apiVersion", None)
        side.pop("kind", None)
        meta = side.get("metadata") or {}
        for key in ("name", "namespace"):
            meta.pop(key, None)
    fieldsets = managed_fieldsets(live)
    diffs: list[FieldDiff] = []
    seen: list[Path] = []
    for path, dv, lv in _leaves(want, have, fieldsets, ()):
        seen.append(path)
        if not equivalent(dv, lv):
            diffs.append(_make(kind, path, dv, lv, ref, fieldsets))
    mine = fieldsets.get(manager)
    if mine:
        for path in owned_paths(mine):
            if path[:1] == (("f", "stringData"),) or path[:1] in ((("f", "status"),),):
                continue
            if path[:2] in (
                (("f", "metadata"), ("f", "name")),
                (("f", "metadata"), ("f", "namespace")),
            ):
                continue
            if any(_is_prefix(path, s) or _is_prefix(s, path) for s in seen):
                continue
            lv = get_path(have, path)
            if lv is ABSENT:
                continue
            diffs.append(_make(kind, path, ABSENT, lv, ref, fieldsets))
    ignored = [re.compile(pattern) for pattern in ignore]
    return [d for d in diffs if not any(p.search(d.path) for p in ignored)]


def _make(
    kind: str, path: Path, desired: Any, live: Any, ref: ObjRef, fieldsets: Mapping[str, FieldSet]
) -> FieldDiff:
    sensitive = is_sensitive(kind, path)
    dv = _plain(desired)
    lv = _plain(live)
    if sensitive:
        dv = None if desired is ABSENT else MASK
        lv = None if live is ABSENT else MASK
    else:
        dv = mask(dv, kind=kind) if isinstance(dv, Mapping | list) else dv
        lv = mask(lv, kind=kind) if isinstance(lv, Mapping | list) else lv
    owners = tuple(m for m in owners_of(fieldsets, path) if m != FIELD_MANAGER)
    return FieldDiff(render_path(path), dv, lv, ref, owners)


def to_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True)


def unified_diff(
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    *,
    desired_label: str = "desired",
    live_label: str = "live",
    context: int = 3,
) -> str:
    """A readable unified diff (YAML) of live -> desired, normalized and secrets masked.

    Either side may be None (object to be created, or to be pruned). Empty when equal.
    """
    kind = str((desired or live or {}).get("kind") or "")
    want_plain = normalize(desired) if desired is not None else None
    have_plain = normalize(live, desired) if live is not None else None
    want = mask(want_plain, kind=kind, other=have_plain) if want_plain is not None else None
    have = mask(have_plain, kind=kind) if have_plain is not None else None
    a = to_yaml(have).splitlines(keepends=True) if have is not None else []
    b = to_yaml(want).splitlines(keepends=True) if want is not None else []
    if a == b:
        return ""
    return "".join(difflib.unified_diff(a, b, fromfile=live_label, tofile=desired_label, n=context))
