"""Parse YAML into plain values while remembering where every key and value was written.

PyYAML's `compose` gives the node tree with marks; walking it ourselves (instead of
`safe_load`) keeps a line/column for every field path, catches duplicate keys (which
`safe_load` silently collapses) and lets us choose how plain scalars are typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shiplane.config.problems import FieldPath

# Aliases can make a tiny file expand enormously ("billion laughs"); real configs stay
# far below this many nodes.
MAX_NODES = 200_000


class _Loader(yaml.SafeLoader):
    """A loader with YAML 1.2 core-schema scalars instead of YAML 1.1's.

    YAML 1.1 turns `to: 17:00` into the integer 1020 (base 60), `from: 2026-12-20` into a
    date, and `no`/`on` into booleans. Window times, dates and names must stay text, so
    only true/false, null, decimal/hex integers and plain floats get special types.
    Merge keys (`<<`) are not resolved either: they are a YAML 1.1 feature.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}  # PyYAML's per-class registry


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in the source text."""

    line: int
    column: int


@dataclass(frozen=True)
class NodeProblem:
    """A problem found while reading YAML, before the file's meaning is checked."""

    position: Position
    path: FieldPath
    message: str


@dataclass
class ParsedDocument:
    """Plain values (dicts, lists, scalars) plus where each was written.

    `values[path]` is where the value at `path` starts; `keys[path]` is where its key
    was written (absent for list items and the top level). `data` is None when the
    document could not be read at all; `problems` then says why.
    """

    data: Any
    values: dict[FieldPath, Position] = field(default_factory=dict)
    keys: dict[FieldPath, Position] = field(default_factory=dict)
    problems: list[NodeProblem] = field(default_factory=list)

    def position(self, path: FieldPath, prefer_key: bool = False) -> Position:
        """Where `path` was written, falling back to its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefer_key and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return Position(1, 1)


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    def __init__(self, loader: _Loader, doc: ParsedDocument) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0
        self.active: set[int] = set()

    def problem(self, node: Node, path: FieldPath, message: str) -> None:
        self.doc.problems.append(NodeProblem(_position(node), path, message))

    def walk(self, node: Node, path: FieldPath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge
        self.doc.values[path] = _position(node)
        if id(node) in self.active:
            self.problem(node, path, "an alias refers to a value that contains itself")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        self.problem(node, path, "unsupported YAML node")  # pragma: no cover - no other kinds
        return None

    def scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self.problem(node, path, f"invalid YAML value: {exc.problem}")
            return None

    def mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, path, "keys must be plain names, not lists or mappings")
                continue
            # The key as written: YAML would make `1:` an int and `true:` a bool, but a
            # name is whatever the user typed.
            key = str(key_node.value)
            if key in first_seen:
                seen = first_seen[key]
                self.problem(
                    key_node,
                    (*path, key),
                    f"duplicate key '{key}' (first defined at line {seen.line})",
                )
                continue
            first_seen[key] = _position(key_node)
            self.doc.keys[(*path, key)] = _position(key_node)
            result[key] = self.walk(value_node, (*path, key))
        return result


class _TooLarge(Exception):
    pass


def parse_yaml(text: str) -> ParsedDocument:
    """Parse one YAML document; syntax problems are returned, never raised."""
    doc = ParsedDocument(data=None)
    text = text.removeprefix("\ufeff")  # a byte-order mark is allowed, and not a column
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # PyYAML checks the first chunk at once
        doc.problems.append(_reader_problem(text, exc))
        return doc
    try:
        root = loader.get_single_node()
        if root is None:
            doc.problems.append(NodeProblem(Position(1, 1), (), "the file is empty"))
            return doc
        walker = _Walker(loader, doc)
        doc.data = walker.walk(root, ())
    except _TooLarge:
        doc.data = None
        doc.problems.append(
            NodeProblem(Position(1, 1), (), f"the document expands to more than {MAX_NODES} values")
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        message = exc.problem or "invalid YAML"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            # PyYAML's context ("while parsing a flow sequence") points at where the
            # broken construct began, which is often the more useful line.
            message = f"{message} ({exc.context} at line {exc.context_mark.line + 1})"
        elif exc.context:
            message = f"{exc.context}: {message}"
        doc.data = None
        doc.problems.append(NodeProblem(position, (), f"invalid YAML: {message}"))
    except yaml.reader.ReaderError as exc:
        doc.data = None
        doc.problems.append(_reader_problem(text, exc))
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors carry no mark type
        doc.data = None
        doc.problems.append(NodeProblem(Position(1, 1), (), f"invalid YAML: {exc}"))
    finally:
        loader.dispose()
    return doc


def _reader_problem(text: str, exc: yaml.reader.ReaderError) -> NodeProblem:
    """A character YAML does not allow (NUL, other control characters), located."""
    index = min(max(exc.position, 0), len(text))
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else 0
    what = "a NUL byte: this looks like a binary file" if code == 0 else f"character U+{code:04X}"
    return NodeProblem(
        Position(line, column), (), f"invalid YAML: {what}, which YAML does not allow"
    )
