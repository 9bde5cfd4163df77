"""Reading Kubernetes objects from multi-document YAML. Pure.

The loader does not turn unquoted dates into datetime objects: the API server receives
JSON, and `kubectl`/kustomize (go-yaml into interface{}) keep `2024-01-01` a string. A
datetime would also fail to serialise later, far from the file at fault.
"""

from __future__ import annotations

from typing import Any

import yaml

from shiplane.gitops.renderers.context import Document

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ManifestError(ValueError):
    """A file is not a valid stream of Kubernetes objects; `str()` says where and why."""


def load_documents(text: str, source: str) -> list[Document]:
    """Every non-empty document of `text` as a Document; `v1` Lists are expanded."""
    try:
        raw_docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        raise ManifestError(_describe_yaml_error(exc)) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"invalid YAML: {exc}") from None
    docs: list[Document] = []
    for index, raw in enumerate(raw_docs, start=1):
        if raw is None:
            continue  # empty document (`---` followed by nothing or only comments)
        docs.extend(Document(obj, source) for obj in _objects(raw, index))
    return docs


def _objects(raw: Any, index: int) -> list[dict[str, Any]]:
    if not isinstance(raw, dict):
        raise ManifestError(
            f"document {index} is a {type(raw).__name__}, expected a Kubernetes object (a mapping)"
        )
    check_object(raw, f"document {index}")
    kind = raw["kind"]
    if raw["apiVersion"] == "v1" and kind.endswith("List") and isinstance(raw.get("items"), list):
        objects = []
        for n, item in enumerate(raw["items"]):
            if not isinstance(item, dict):
                raise ManifestError(f"document {index}: items[{n}] is not a mapping")
            check_object(item, f"document {index} items[{n}]")
            objects.append(item)
        return objects
    return [raw]


def check_object(obj: dict[str, Any], where: str) -> None:
    """apiVersion, kind and metadata.name (or generateName) must be present strings."""
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise ManifestError(f"{where} has no {key}")
    if obj["apiVersion"] == "v1" and obj["kind"].endswith("List") and "items" in obj:
        return
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise ManifestError(f"{where} ({obj['kind']}) has no metadata")
    name = meta.get("name") or meta.get("generateName")
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{where} ({obj['kind']}) has no metadata.name")


def _describe_yaml_error(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = " ".join(p for p in (exc.context, exc.problem) if p)
    return f"invalid YAML at {where}{what or 'parse error'}"
