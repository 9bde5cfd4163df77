"""CEL expressions of checks (sandboxed: `cel`, never Python's eval), and `{{name}}`
templates in queries and URLs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import cel


class ExpressionError(ValueError):
    """An expression failed to compile, to evaluate, or did not give a boolean."""


@lru_cache(maxsize=512)
def compile_expression(source: str) -> Any:
    """A compiled CEL program (cached by source text)."""
    if not source.strip():
        raise ExpressionError("the expression is empty")
    try:
        return cel.compile(source)
    except ValueError as exc:
        raise ExpressionError(f"not a valid CEL expression: {exc}") from None


def check_expression(source: str) -> str:
    """Pydantic validator: the expression compiles."""
    compile_expression(source)
    return source


def evaluate_bool(source: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate `source` with `variables`; ExpressionError unless it gives a boolean."""
    program = compile_expression(source)
    context = cel.Context()
    for name, value in variables.items():
        context.add_variable(name, value)
    try:
        value = program.execute(context)
    except KeyError as exc:
        raise ExpressionError(f"{source!r}: no such field {exc}") from None
    except (RuntimeError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ExpressionError(f"{source!r}: {exc}") from None
    if not isinstance(value, bool):
        raise ExpressionError(
            f"{source!r} must give true or false, gave {type(value).__name__} {value!r}"
        )
    return value


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Replace `{{name}}` by `values[name]`; ExpressionError names an unknown placeholder."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            known = ", ".join("{{" + k + "}}" for k in values)
            raise ExpressionError(f"unknown placeholder {{{{{key}}}}} (known: {known})")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def template_placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


PLACEHOLDERS = ("environment", "namespace", "app", "release", "release_alias", "image")
"""What `{{...}}` may name: see `CheckContext.template_values`."""


def check_template(text: str) -> str:
    """Pydantic validator: every placeholder is one of PLACEHOLDERS."""
    render_template(text, {name: name for name in PLACEHOLDERS})
    return text
