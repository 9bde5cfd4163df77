"""Translate pydantic validation errors into located, readable problems.

pydantic's `loc` mixes real keys with internal tags (union members, `[key]` for dict
keys, the `all` that a list `after` is normalised into); following it through the parsed
data keeps only the parts the user wrote, which also gives the line and column.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from shiplane.config.problems import FieldPath
from shiplane.config.yamlnodes import ParsedDocument, Position
from shiplane.domain.suggest import closest, describe

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


@dataclass(frozen=True)
class LocatedMessage:
    position: Position
    path: FieldPath
    message: str


def _follow(data: Any, loc: tuple[str | int, ...]) -> tuple[FieldPath, bool]:
    """The part of `loc` that exists in `data`, and whether it ends at a dict key."""
    path: list[str | int] = []
    node = data
    for step in loc:
        if step == "[key]":
            return tuple(path), True
        in_dict = isinstance(node, dict) and isinstance(step, str) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_dict or in_list:
            node = node[step]
            path.append(step)
    return tuple(path), False


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            tp = members[0]
        else:
            return tp


def _child_type(tp: Any, step: str | int) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if (info.alias or name) == step:
                return info.annotation
        return None
    origin = get_origin(tp)
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        item = get_args(tp)[0]
        # A single mapping where a list is allowed (`allow: {days: ...}`) is normalised
        # into a list by the model; its keys then belong to the item type.
        return item if isinstance(step, int) else _child_type(item, step)
    return None


def allowed_keys(root: type[BaseModel], path: FieldPath) -> list[str]:
    """Keys the model accepts at `path` (a mapping in the document)."""
    tp: Any = root
    for step in path:
        tp = _child_type(tp, step)
        if tp is None:
            return []
    tp = _unwrap(tp)
    if get_origin(tp) in (list, tuple):
        tp = _unwrap(get_args(tp)[0])  # a single mapping standing for a one-item list
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [info.alias or name for name, info in tp.model_fields.items()]
    return []


def _message(error: ErrorDetails, root: type[BaseModel], path: FieldPath) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"missing required field '{path[-1]}'"
    if kind == "extra_forbidden":
        key = str(path[-1])
        if key == "<<":
            return "merge keys ('<<') are not supported; use an anchor and alias for the value"
        allowed = allowed_keys(root, path[:-1])
        match = closest(key, allowed)
        if match is not None:
            return f"unknown key '{key}'; did you mean '{match}'?"
        return f"unknown key '{key}'; expected one of: {', '.join(allowed)}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {describe(value)}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = ""
        if isinstance(value, str) and (match := closest(value, options)) is not None:
            hint = f"; did you mean '{match}'?"
        return f"expected {ctx.get('expected')}, got {describe(value)}{hint}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        text = error["msg"].replace("Input should be", "must be")
        return f"{text}, got {describe(value)}"
    message = error["msg"]
    return message[:1].lower() + message[1:]


def translate(
    errors: list[ErrorDetails], doc: ParsedDocument, root: type[BaseModel]
) -> list[LocatedMessage]:
    """One located message per pydantic error."""
    out: list[LocatedMessage] = []
    for error in errors:
        loc = tuple(error["loc"])
        path, is_key = _follow(doc.data, loc)
        if error["type"] == "missing" and loc:
            position = doc.position(path, prefer_key=True)
            path = (*path, loc[-1])
        elif is_key or error["type"] == "extra_forbidden":
            position = doc.position(path, prefer_key=True)
        else:
            # A whole mapping (a model-level rule) is best pointed at by its key; a
            # scalar or list by the value itself.
            value = _value_at(doc.data, path)
            position = doc.position(path, prefer_key=isinstance(value, dict))
        out.append(LocatedMessage(position, path, _message(error, root, path)))
    return out


def _value_at(data: Any, path: FieldPath) -> Any:
    node = data
    for step in path:
        node = node[step]
    return node
