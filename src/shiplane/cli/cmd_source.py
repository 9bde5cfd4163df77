"""`shiplane source list | show | refresh`: artifact sources and what they found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer

from shiplane.cli.client import open_client
from shiplane.cli.groups import command_group
from shiplane.cli.output import (
    OutputFormat,
    emit,
    emit_page,
    no_headers_option,
    output_option,
    reporting_failures,
    short_time,
    text,
)
from shiplane.cli.tables import Column

if TYPE_CHECKING:  # Rich is imported when a table is printed, not at start-up
    from rich.table import Table

source_app = command_group(
    "source", "Artifact sources: what each found, its health and next poll; refresh one."
)


def health(source: Mapping[str, Any]) -> str:
    if source.get("healthy") is None:
        return "Unknown"
    return "Healthy" if source["healthy"] else "Unhealthy"


def source_columns() -> list[Column]:
    return [
        text("name", "NAME"),
        text("kind", "KIND"),
        Column("HEALTH", health),
        text("version", "VERSION"),
        Column("DIGEST", lambda s: (s.get("digest") or "-")[:19]),
        Column("NEXT POLL", lambda s: short_time(s.get("next_poll_at"))),
        text("last_release", "RELEASE", wide=True),
        text("watches", "WATCHES", wide=True),
        Column("REASON", lambda s: str(s.get("reason") or s.get("assembly") or "-"), flex=True),
    ]


def _source_table(source: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("name", source["name"])
    table.add_row("kind", source["kind"])
    table.add_row("watches", source["watches"])
    table.add_row("select", source.get("select") or "-")
    table.add_row("apps", ", ".join(source.get("apps") or []) or "-")
    table.add_row("interval", f"{source['interval']}s (jittered)")
    table.add_row("health", health(source))
    table.add_row("reason", source.get("reason") or "-")
    table.add_row("assembly", source.get("assembly") or "-")
    table.add_row("version", source.get("version") or "-")
    table.add_row("digest", source.get("digest") or "-")
    table.add_row("artifact", source.get("artifact") or "-")
    table.add_row("last release", source.get("last_release") or "-")
    table.add_row("checked", short_time(source.get("checked_at")))
    table.add_row("changed", short_time(source.get("changed_at")))
    table.add_row("next poll", short_time(source.get("next_poll_at")))
    return table


@source_app.command("list")
def list_(
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List sources: health, selected version and digest, next poll."""
    with reporting_failures(), open_client() as client:
        page = client.get("/sources")
    emit_page(page, output, source_columns(), what="sources", no_headers=no_headers, name="name")


@source_app.command("show")
def show(
    name: str = typer.Argument(..., metavar="NAME", help="Source name (from shiplane.yaml)."),
    output: OutputFormat = output_option(),
) -> None:
    """Show one source: what it watches, what it found, why it is unhealthy."""
    with reporting_failures(), open_client() as client:
        source = client.get(f"/sources/{quote(name, safe='')}")
    emit(source, output, _source_table, name="name")


@source_app.command("refresh")
def refresh(
    name: str = typer.Argument(..., metavar="NAME", help="Source name (from shiplane.yaml)."),
    output: OutputFormat = output_option(),
) -> None:
    """Look at a source now (promoter); prints what it found. A new artifact assembles a
    release as a poll would."""
    with reporting_failures(), open_client() as client:
        source = client.request("POST", f"/sources/{quote(name, safe='')}/refresh")
    emit(source, output, _source_table, name="name")
