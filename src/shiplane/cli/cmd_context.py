"""`shiplane context list | use NAME | delete NAME`: the named servers `login` stored."""

from __future__ import annotations

import sys

import typer

from shiplane.cli.client import Contexts, config_path, load_contexts, save_contexts
from shiplane.cli.groups import command_group
from shiplane.cli.output import (
    OutputFormat,
    emit,
    fail,
    no_headers_option,
    output_option,
    reporting_failures,
    table_width,
)
from shiplane.cli.tables import Column, render_table

context_app = command_group("context", "List and switch named contexts (server + token).")


def _load() -> Contexts:
    with reporting_failures():
        return load_contexts()


def _known(contexts: Contexts, name: str) -> None:
    if name not in contexts.contexts:
        known = ", ".join(sorted(contexts.contexts)) or "none; run `shiplane login` first"
        fail(f"no context named {name!r} (known: {known})")


@context_app.command("list")
def list_(no_headers: bool = no_headers_option(), output: OutputFormat = output_option()) -> None:
    """List contexts; `*` marks the current one. Tokens are never printed."""
    contexts = _load()
    rows = [
        {"name": name, "server": c.server, "current": name == contexts.current}
        for name, c in sorted(contexts.contexts.items())
    ]
    if output not in (OutputFormat.table, OutputFormat.wide):
        emit({"current": contexts.current, "items": rows}, output, str, name="name")
        return
    if not rows:
        sys.stderr.write("no contexts: run `shiplane login SERVER --token TOKEN`\n")
        return
    columns = [
        Column("CURRENT", lambda r: "*" if r["current"] else ""),
        Column("NAME", lambda r: str(r["name"])),
        Column("SERVER", lambda r: str(r["server"])),
    ]
    sys.stdout.write(
        render_table(rows, columns, headers=not no_headers, width=table_width()) + "\n"
    )


@context_app.command("use")
def use(
    name: str = typer.Argument(..., metavar="NAME", help="A context from `context list`."),
) -> None:
    """Make NAME the current context: later commands talk to its server."""
    contexts = _load()
    _known(contexts, name)
    save_contexts(config_path(), Contexts(current=name, contexts=contexts.contexts))
    typer.echo(f"current context: {name} ({contexts.contexts[name].server})")


@context_app.command("delete")
def delete(name: str = typer.Argument(..., metavar="NAME", help="A context to forget.")) -> None:
    """Forget context NAME (and its token)."""
    contexts = _load()
    _known(contexts, name)
    rest = {n: c for n, c in contexts.contexts.items() if n != name}
    current = None if contexts.current == name else contexts.current
    save_contexts(config_path(), Contexts(current=current, contexts=rest))
    typer.echo(f"deleted context {name}")
