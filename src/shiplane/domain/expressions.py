"""CEL expressions: compiled once per text, evaluated sandboxed, errors located.

The one CEL module of Shiplane: conditions (gates), check expectations and success
criteria (checks), and the config layer's compile-time check all come here.

CEL (the `common-expression-language` package) has no I/O and no access to Python
objects beyond the variables given, which is why user-written conditions run in it and
never through Python's eval. Every failure becomes an `ExpressionError` that names the
expression and, where known, the line and column, so callers can turn it into a clear
result instead of crashing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import cel

from shiplane.domain.errors import InvalidError

_LOCATION = re.compile(r"<input>:(\d+):(\d+):\s*([^\n]*)")
_UNDEFINED = re.compile(r"Undefined variable or function: '([^']+)'")


class ExpressionError(InvalidError):
    """An expression that does not compile, fails while evaluating, or does not give
    what its caller needs (a boolean). `problem` is the message without the expression.

    `fatal`: the expression itself is wrong (it does not compile, names an unknown
    variable, or gives something other than true or false), so evaluating it again on
    other data cannot help; a check fails at once. Otherwise the data did not fit (a
    missing key in a response), which a later measurement may not repeat.
    """

    def __init__(
        self,
        expression: str,
        problem: str,
        line: int | None = None,
        column: int | None = None,
        *,
        fatal: bool = True,
    ) -> None:
        self.expression = expression
        self.problem = problem
        self.line = line
        self.column = column
        self.fatal = fatal
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"`{expression}`{where}: {problem}")


@lru_cache(maxsize=1024)
def _compile(text: str) -> cel.Program | tuple[str, int | None, int | None]:
    # Failures are cached too (as plain data, not exception objects that would keep
    # growing tracebacks), so a broken expression is parsed once, not on every reconcile.
    try:
        return cel.compile(text)
    except Exception as exc:  # the extension raises ValueError; be safe with the rest
        found = _LOCATION.search(str(exc))
        if found:
            return (found.group(3).strip(), int(found.group(1)), int(found.group(2)))
        return (str(exc), None, None)


def compile_expression(text: str) -> cel.Program:
    """The compiled program for `text` (cached by text), or ExpressionError."""
    if not text.strip():
        raise ExpressionError(text, "the expression is empty")
    compiled = _compile(text)
    if isinstance(compiled, tuple):
        message, line, column = compiled
        raise ExpressionError(text, message, line, column)
    return compiled


def _locate(text: str, key: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the first `.key` or `["key"]` in `text`."""
    pattern = re.compile(rf"\.\s*{re.escape(key)}\b|\[\s*['\"]{re.escape(key)}['\"]\s*\]")
    found = pattern.search(text)
    if not found:
        return None, None
    before = text[: found.start()]
    line = before.count("\n") + 1
    return line, found.start() - (before.rfind("\n") + 1) + 2  # point at the key itself


def _locate_word(text: str, word: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the first whole-word `word` in `text`."""
    found = re.search(rf"(?<![\w.]){re.escape(word)}\b", text)
    if not found:
        return None, None
    before = text[: found.start()]
    return before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1


def check_expression(text: str) -> str:
    """Pydantic validator: `text` compiles (so a typo surfaces when the config is read)."""
    try:
        compile_expression(text)
    except ExpressionError as exc:
        # pydantic reports ValueErrors raised by validators; ours carries the location.
        where = f"at line {exc.line}, column {exc.column}: " if exc.line is not None else ""
        raise ValueError(f"not a valid CEL expression: {where}{exc.problem}") from None
    return text


def evaluate(text: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate `text` with `variables`; any failure is an ExpressionError."""
    program = compile_expression(text)
    context = cel.Context()
    for name, value in variables.items():
        context.add_variable(name, _plain(value))
    try:
        return program.execute(context)
    except KeyError as exc:
        key = str(exc.args[0]) if exc.args else "?"
        line, column = _locate(text, key)
        raise ExpressionError(
            text, f"no such key {key!r} (use has(...) to test for it)", line, column, fatal=False
        ) from None
    except BaseException as exc:
        # The Rust extension can raise a panic exception that derives from BaseException;
        # it must not escape as a crash. Interrupts still do.
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        message = str(exc) or type(exc).__name__
        undefined = _UNDEFINED.search(message)
        if undefined:
            line, column = _locate_word(text, undefined.group(1))
            raise ExpressionError(
                text, f"unknown name {undefined.group(1)!r}", line, column
            ) from None
        raise ExpressionError(text, message, fatal=False) from None


def evaluate_bool(text: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate a condition; a result other than true or false is an ExpressionError."""
    result = evaluate(text, variables)
    if not isinstance(result, bool):
        raise ExpressionError(text, f"must be true or false, got {result!r}")
    return result


def _plain(value: Any) -> Any:
    """Mappings to dicts and tuples to lists: what the CEL binding converts reliably."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
