"""Command-line values turned into parameter types without pydantic.

Typer 0.29 converts every parameter value through a pydantic `TypeAdapter` that it builds
on first use: importing pydantic and building the adapters cost about 100 ms on every
`shiplane` call, most of a call's start-up (bench/README.md, cli.py). The CLI's
parameters use a handful of plain types (str, bool, int, float with a range, Enum
choices, Path, lists and tuples of those); for each of them this module hands Typer a
converter that gives the same values and the same error messages as Typer's own
(pinned against Typer in tests/unit/cli/test_coercion.py). A parameter of any other type
keeps Typer's converter, so a new kind of parameter still works, only slower.

The hook is `typer.core.build_runtime_param`, which Typer calls once per parameter when it
first converts a value (private: Typer's version is pinned in requirements.lock, and the
tests fail if the hook stops being used or pydantic comes back on a call).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import core as typer_core
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._click.utils import _escape_control_characters
from typer._coercion import RuntimeParam, TypeDescriptor
from typer._coercion import build_runtime_param as _typer_build
from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
from typer.models import ParameterInfo

# One converter: (value, the Click parameter, the context) -> the typed value.
Converter = Callable[[Any, Any, Context | None], Any]

# pydantic's lax integer from a string: ASCII digits, single underscores between them,
# an optional all-zero fraction ("1.0" is 1, "1.5" is an error).
_INT_TEXT = re.compile(r"[+-]?\d+(?:_\d+)*(?:\.0+)?", re.ASCII)
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})

NOT_INT = "Input should be a valid integer, unable to parse string as an integer"
NOT_NUMBER = "Input should be a valid number, unable to parse string as a number"
NOT_BOOL = "Input should be a valid boolean, unable to interpret input"


class _Invalid(ValueError):
    """A value that does not convert; the message is shown as is (after `Invalid value
    for '--opt': `)."""


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    """Typer's runtime parameter with a plain converter instead of a pydantic adapter
    (Typer's `coerce` still handles missing and multiple values)."""

    convert: Converter

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        try:
            return self.convert(value, param, ctx)
        except _Invalid as exc:
            message = _escape_control_characters(str(exc))
            raise BadParameter(message, ctx=ctx, param=param) from exc


def install() -> None:
    """Make Typer build plain converters where a parameter's type has one (every
    parameter, the lazily made `--help` options included); idempotent."""
    # typer.core calls the name it imported from typer._coercion; ours falls back to
    # that original (`_typer_build`), so installing twice changes nothing.
    setattr(typer_core, "build_runtime_param", build_runtime_param)  # noqa: B010


def build_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
    """Typer's `build_runtime_param` with a plain converter where there is one."""
    convert = None
    if descriptor.file_annotation is None:
        convert = converter(descriptor.annotation, descriptor.parameter_info)
    if convert is None:
        return _typer_build(descriptor)
    return PlainRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=descriptor.annotation,
        convert=convert,
    )


def converter(annotation: Any, info: ParameterInfo) -> Converter | None:
    """The plain converter for `annotation`, or None when Typer must convert it. Follows
    the order of Typer's `build_adapter` / `build_leaf_adapter`."""
    if info.parser is not None or info.clamp or getattr(info, "click_type", None) is not None:
        return None
    origin = get_origin(annotation)
    if origin is list:
        (item_type,) = get_args(annotation)
        item = converter(item_type, info)
        return None if item is None else _list_of(item)
    if origin is tuple:
        items = [converter(t, info) for t in get_args(annotation)]
        if any(c is None for c in items):
            return None
        return _tuple_of([c for c in items if c is not None])
    if origin is not None:
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(tuple(annotation), info.case_sensitive)
    if annotation is bool:
        return _bool
    if annotation is int or annotation is float:
        return _number(annotation, info.min, info.max)
    if annotation is str:
        return _str
    if routes_to_path(annotation, info) and isinstance(annotation, type):
        return _path(annotation, info)
    return None


def _list_of(item: Converter) -> Converter:
    def convert(value: Any, param: Any, ctx: Context | None) -> list[Any]:
        values = value if isinstance(value, (list, tuple)) else [value]
        return [item(v, param, ctx) for v in values]

    return convert


def _tuple_of(items: Sequence[Converter]) -> Converter:
    def convert(value: Any, param: Any, ctx: Context | None) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise _Invalid("Value error, value is not a valid tuple")
        if len(value) != len(items):
            raise _Invalid(
                f"Value error, {len(items)} values are required, but {len(value)} given."
            )
        return tuple(c(v, param, ctx) for c, v in zip(items, value, strict=True))

    return convert


def _str(value: Any, param: Any, ctx: Context | None) -> str:
    if isinstance(value, bytes):  # never from argv or the environment on Python 3
        return value.decode("utf-8", "replace")
    return str(value)


def _bool(value: Any, param: Any, ctx: Context | None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "" or text in _FALSE:  # Typer reads an empty value as false
            return False
        if text in _TRUE:
            return True
        raise _Invalid(NOT_BOOL)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, int):
        raise _Invalid(NOT_BOOL)
    raise _Invalid("Input should be a valid boolean")


def _number(kind: type, low: float | None, high: float | None) -> Converter:
    def convert(value: Any, param: Any, ctx: Context | None) -> int | float:
        number = _to_int(value) if kind is int else _to_float(value)
        if low is not None and not number >= low:  # `not >=`: NaN is out of range too
            raise _Invalid(f"Input should be greater than or equal to {low}")
        if high is not None and not number <= high:
            raise _Invalid(f"Input should be less than or equal to {high}")
        return number

    return convert


def _to_int(value: Any) -> int:
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Invalid("Input should be a finite number")
        if not value.is_integer():
            raise _Invalid("Input should be a valid integer, got a number with a fractional part")
        return int(value)
    text = str(value).strip()
    if not _INT_TEXT.fullmatch(text):
        raise _Invalid(NOT_INT)
    return int(text.partition(".")[0])


def _to_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not text.isascii():  # Python's float() reads other scripts' digits; pydantic not
        raise _Invalid(NOT_NUMBER)
    try:
        return float(text)
    except ValueError:
        raise _Invalid(NOT_NUMBER) from None


def _choice(choices: tuple[Any, ...], case_sensitive: bool) -> Converter:
    def convert(value: Any, param: Any, ctx: Context | None) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)
        except ValueError as exc:
            raise _Invalid(f"Value error, {exc}") from None

    return convert


def _path(annotation: type, info: ParameterInfo) -> Converter:
    path_type: type | None = info.path_type
    if path_type is None and issubclass(annotation, Path):
        path_type = annotation

    def convert(value: Any, param: Any, ctx: Context | None) -> Any:
        if isinstance(path_type, type) and issubclass(path_type, Path):
            if not isinstance(value, (str, Path)):
                raise _Invalid(f"Input is not a valid path for {path_type}")
            value = path_type(value)  # what pydantic makes of a string
        return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)

    return convert
