"""Pure diffing of desired vs live objects: normalization, field-level diff, masking,
server-side-apply field ownership (`managedFields[].fieldsV1`) and a readable unified diff.

Paths are rendered like `spec.template.spec.containers[name=main].image`; map keys that
contain dots or slashes are quoted: `metadata.labels["app.kubernetes.io/name"]`.
"""

from __future__ import annotations

import base64
import copy
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from shiplane.kube.refs import ObjRef

MASK = "***"
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
_SECRET_NAME = re.compile(
    r"(?i)(passw(or)?d|passwd|pwd|token|secret|api[-_]?key|credential|private[-_]?key)"
)
_REFERENCE_SUFFIX = re.compile(r"(?i)(name|ref|refs)$")


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


# ---------------------------------------------------------------------------------------
# path segments

# A path is a tuple of segments: ("f", name) a map key, ("k", {key fields}) an item of an
# associative list, ("i", index) a list position, ("v", value) a member of a set list.
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


# ---------------------------------------------------------------------------------------
# masking


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


# ---------------------------------------------------------------------------------------
# normalization


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
            keys = _guess_keys(desired)
            result = []
            for index, item in enumerate(desired):
                match = _find_item(live, item, keys, index)
                if match is not ABSENT:
                    result.append(_prune_to(match, item))
            # live items that desired does not have stay (they are a real difference)
            matched = {id(_find_item(live, item, keys, i)) for i, item in enumerate(desired)}
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


# ---------------------------------------------------------------------------------------
# value comparison

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


# ---------------------------------------------------------------------------------------
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


def _guess_keys(items: Sequence[Any]) -> tuple[str, ...]:
    for keys in _KNOWN_KEYS:
        if items and all(isinstance(i, Mapping) and keys[0] in i for i in items):
            return keys
    return ()


def _matches(item: Mapping[str, Any], key: Mapping[str, Any]) -> bool:
    """`item` matches an associative-list key when every key field it has is equal (a
    field the item omits, e.g. a defaulted `protocol`, does not prevent the match)."""
    present = [k for k in key if k in item]
    return bool(present) and all(equivalent(item[k], key[k]) for k in present)


def _find_item(
    items: Sequence[Any], item: Mapping[str, Any], keys: Sequence[str], index: int
) -> Any:
    if keys:
        key = {k: item[k] for k in keys if k in item}
        for candidate in items:
            if isinstance(candidate, Mapping) and _matches(candidate, key):
                return candidate
        return ABSENT
    return items[index] if index < len(items) else ABSENT


# ---------------------------------------------------------------------------------------
# managedFields (server-side apply ownership)


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


def _node(fieldset: FieldSet | None, segment: Segment) -> FieldSet | None:
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


def _key_entries(fieldsets: Iterable[FieldSet | None]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for fieldset in fieldsets:
        for key in fieldset or {}:
            if key.startswith("k:"):
                parsed = json.loads(key[2:])
                if isinstance(parsed, dict) and parsed not in entries:
                    entries.append(parsed)
    return entries


def _owners(fieldsets: Mapping[str, FieldSet], path: Path) -> tuple[str, ...]:
    owners = []
    for manager, fieldset in fieldsets.items():
        node: FieldSet | None = fieldset
        for segment in path:
            node = _node(node, segment)
            if node is None:
                break
        if node is not None:
            owners.append(manager)
    return tuple(sorted(owners))


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
            value = next((i for i in value if isinstance(i, Mapping) and _matches(i, key)), ABSENT)
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


# ---------------------------------------------------------------------------------------
# field-level diff


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
        entries = _key_entries(nodes)
        guessed = _guess_keys(desired)
        for index, item in enumerate(desired):
            entry = next((e for e in entries if _matches(item, e)), None)
            if entry is not None:
                segment: Segment = ("k", entry)
                match = next(
                    (i for i in live_items if isinstance(i, Mapping) and _matches(i, entry)), ABSENT
                )
            elif guessed:
                key = {k: item[k] for k in guessed if k in item}
                segment = ("k", key)
                match = _find_item(live_items, item, guessed, index)
            else:
                segment = ("i", index)
                match = live_items[index] if index < len(live_items) else ABSENT
            yield from _leaves(item, match, fieldsets, (*path, segment))
        return
    yield path, desired, live


def _resolve(fieldset: FieldSet | None, path: Path) -> FieldSet | None:
    node = fieldset
    for segment in path:
        node = _node(node, segment)
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
    owners = tuple(m for m in _owners(fieldsets, path) if m != FIELD_MANAGER)
    return FieldDiff(render_path(path), dv, lv, ref, owners)


# ---------------------------------------------------------------------------------------
# unified diff


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
