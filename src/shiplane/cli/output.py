"""Output of CLI commands: `-o table|json|yaml`, and the one-line error convention.

JSON and YAML print exactly what the API returned (lists keep their `items` /
`next_cursor` envelope), so scripts see the same shape as API clients. Tables are for
people and may abbreviate.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table

from shiplane.cli.client import ApiError, CliFailure

EXIT_FAILURE = 1
EXIT_USAGE = 2


class OutputFormat(StrEnum):
    # Lowercase members: Typer shows and accepts the values, and other command modules
    # (localcluster) refer to them as `OutputFormat.table`.
    table = "table"
    json = "json"
    yaml = "yaml"


def output_option() -> Any:
    return typer.Option(
        OutputFormat.table, "--output", "-o", help="Output format: table, json or yaml."
    )


def stdout_console() -> Console:
    # Wide when not a terminal, so piped tables are not cut at 80 columns.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def fail(message: str) -> NoReturn:
    """Print `error: <message>` on stderr (plain text, no markup) and exit 1."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(EXIT_FAILURE)


@contextmanager
def reporting_failures() -> Iterator[None]:
    """Turn every expected failure into one readable line and exit code 1."""
    try:
        yield
    except ApiError as exc:
        if exc.bad_filter:  # a typo in a filter is a usage error (exit 2), like kubectl
            sys.stderr.write(f"error: {exc}\n")
            raise typer.Exit(EXIT_USAGE) from None
        fail(str(exc))
    except CliFailure as exc:
        fail(str(exc))


def emit(data: Any, fmt: OutputFormat, table: Callable[[Any], Table | str]) -> None:
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif fmt is OutputFormat.yaml:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    else:
        rendered = table(data)
        if isinstance(rendered, str):
            sys.stdout.write(rendered + "\n")
        else:
            stdout_console().print(rendered)


def page_table(
    page: dict[str, Any],
    title: str,
    columns: Sequence[str],
    row: Callable[[dict[str, Any]], Sequence[str]],
) -> Table | str:
    items = page.get("items") or []
    if not items:
        return f"no {title.lower()}"
    table = Table(*columns, title=title, title_justify="left")
    for item in items:
        table.add_row(*row(item))
    if page.get("next_cursor"):
        table.caption = f"more: --cursor {page['next_cursor']}"
        table.caption_justify = "left"
    return table


def short_time(value: str | None) -> str:
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def usage_error(message: str, param_hint: str | None = None) -> typer.BadParameter:
    """Exit 2 with Click's usage message (the DESIGN.md usage-error exit code)."""
    return typer.BadParameter(message, param_hint=param_hint)


def render(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    fmt: OutputFormat,
) -> None:
    """Print plain rows: `columns` are (key, HEADER) pairs for the table; JSON and YAML
    print the rows as they are. Used by commands that do not talk to the API."""

    def table(data: Sequence[Mapping[str, Any]]) -> Table | str:
        grid = Table(*(header for _key, header in columns))
        for item in data:
            grid.add_row(*("-" if item.get(k) is None else str(item.get(k)) for k, _h in columns))
        return grid

    emit([dict(r) for r in rows], fmt, table)
