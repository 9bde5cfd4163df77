"""Output of CLI commands: `-o table|wide|name|json|yaml`, and the one-line error
convention.

JSON and YAML print exactly what the API returned (lists keep their `items` /
`next_cursor` envelope), so scripts see the same shape as API clients. Lists print plain
kubectl-style columns (see `tables.py`); `-o name` prints one full id per line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from shiplane.cli.client import ApiError, CliFailure
from shiplane.cli.tables import Column, absolute, age, render_table, short_ids

if TYPE_CHECKING:  # Rich is imported only when a command prints a Rich table.
    from rich.console import Console
    from rich.table import Table

EXIT_FAILURE = 1
EXIT_USAGE = 2


class OutputFormat(StrEnum):
    # Lowercase members: Typer shows and accepts the values, and other command modules
    # (localcluster) refer to them as `OutputFormat.table`.
    table = "table"
    wide = "wide"
    name = "name"
    json = "json"
    yaml = "yaml"


def output_option() -> Any:
    return typer.Option(
        OutputFormat.table,
        "--output",
        "-o",
        metavar="FORMAT",
        help="Output format: table, wide (more columns, full ids, absolute times), "
        "name (full ids only), json or yaml.",
    )


def no_headers_option() -> Any:
    return typer.Option(False, "--no-headers", help="Leave out the header line of tables.")


def stdout_console() -> Console:
    from rich.console import Console

    # Wide when not a terminal, so piped tables are not cut at 80 columns.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def table_width() -> int | None:
    """The width tables fit: $COLUMNS, else the terminal's; none when piped."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


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


def emit(
    data: Any, fmt: OutputFormat, table: Callable[[Any], Table | str], name: str = "id"
) -> None:
    """Print one answer; `name` is the key `-o name` prints (a dict or a page of them)."""
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif fmt is OutputFormat.yaml:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    elif fmt is OutputFormat.name:
        if isinstance(data, dict) and "items" in data:
            items = data["items"] or []
        else:
            items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and item.get(name) is not None:
                sys.stdout.write(f"{item[name]}\n")
    else:
        rendered = table(data)
        if isinstance(rendered, str):
            sys.stdout.write(rendered + "\n")
        else:
            stdout_console().print(rendered)


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    fmt: OutputFormat,
    *,
    no_headers: bool = False,
    empty: str = "",
    name: str = "id",
) -> None:
    """Print rows that are not a page: a table (fitted to the terminal; `empty` on
    stderr when there are none), or the rows as JSON/YAML/names."""
    if fmt not in (OutputFormat.table, OutputFormat.wide):
        emit([dict(r) for r in rows], fmt, lambda _d: "", name=name)
        return
    if not rows:
        if empty:
            sys.stderr.write(empty + "\n")
        return
    table = render_table(
        rows, columns, wide=fmt is OutputFormat.wide, headers=not no_headers, width=table_width()
    )
    sys.stdout.write(table + "\n")


def emit_page(
    page: dict[str, Any],
    fmt: OutputFormat,
    columns: Sequence[Column],
    *,
    what: str,
    no_headers: bool = False,
    name: str = "id",
) -> None:
    """Print a page of a listing. Tables go to stdout; the hint for the next page and
    the note for an empty page go to stderr, so piped output holds only rows."""
    if fmt not in (OutputFormat.table, OutputFormat.wide):
        emit(page, fmt, lambda _d: "", name)
        return
    items = page.get("items") or []
    if items:
        text = render_table(
            items,
            columns,
            wide=fmt is OutputFormat.wide,
            headers=not no_headers,
            width=table_width(),
        )
        sys.stdout.write(text + "\n")
    else:
        sys.stderr.write(f"no {what}\n")
    if page.get("next_cursor"):
        sys.stderr.write(f"more: --cursor {page['next_cursor']}\n")


# The shortest id prefix tables show, by id type (the listings of each type and the audit
# SUBJECT column agree). Promotion ids are ULIDs: their first 10 characters are the time.
ID_MINIMUM = {"rel-": 8, "prm-": 10, "tok-": 8, "dlv-": 14}


def id_column(
    items: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    key: str = "id",
    header: str = "ID",
    type_prefix: str = "",
    minimum: int = 8,
) -> Column:
    """The id column: the shortest unique prefix in `table` (never cut), the full id
    in `wide`. Prefixes are what every command accepts as an id."""
    ids = [str(item[key]) for item in items if item.get(key)]
    if fmt is OutputFormat.wide:
        shown = {i: i for i in ids}
    else:
        shown = short_ids(ids, type_prefix=type_prefix, minimum=minimum)
    return Column(header, lambda r: shown.get(str(r.get(key) or ""), "-"))


def subject_column(items: Sequence[Mapping[str, Any]], fmt: OutputFormat) -> Column:
    """An audit event's subject: a record id (`rel-`, `prm-`, `tok-`, `dlv-`) as its
    shortest unique prefix with the type prefix kept (one table mixes the types; every
    command accepts `rel-3f9c2a41`), the whole id in `wide`; any other subject
    (`prod/web`, `project`) as it is."""
    subjects = {str(item.get("subject") or "") for item in items}
    shown = {s: s for s in subjects}
    if fmt is not OutputFormat.wide:
        for type_prefix, minimum in ID_MINIMUM.items():
            ids = [s for s in subjects if s.startswith(type_prefix)]
            for full, short in short_ids(ids, type_prefix=type_prefix, minimum=minimum).items():
                shown[full] = type_prefix + short
    return Column("SUBJECT", lambda r: shown.get(str(r.get("subject") or ""), "") or "-")


def age_columns(key: str, header: str = "AGE", wide_header: str = "CREATED") -> list[Column]:
    """A relative AGE column, plus the absolute UTC time in `-o wide`."""
    now = datetime.now(UTC)
    return [
        Column(header, lambda r: age(r.get(key), now)),
        Column(wide_header, lambda r: absolute(r.get(key)), wide=True),
    ]


def text(key: str, header: str, *, flex: bool = False, wide: bool = False) -> Column:
    """A column showing `row[key]` (`-` when missing)."""

    def value(row: Mapping[str, object]) -> str:
        item = row.get(key)
        return "-" if item is None or item == "" else str(item)

    return Column(header, value, flex=flex, wide=wide)


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

    plain = [Column(header, _getter(key)) for key, header in columns]
    data = [dict(r) for r in rows]
    if fmt in (OutputFormat.table, OutputFormat.wide):
        if data:
            sys.stdout.write(render_table(data, plain, width=table_width()) + "\n")
        return
    emit(data, fmt, lambda _d: "", name=columns[0][0])


def _getter(key: str) -> Callable[[Mapping[str, object]], str]:
    return lambda row: "-" if row.get(key) is None else str(row.get(key))
