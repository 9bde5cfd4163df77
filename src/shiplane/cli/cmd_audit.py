"""`shiplane audit list | verify | export`."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from shiplane.cli.args import check_time
from shiplane.cli.client import open_client
from shiplane.cli.groups import command_group
from shiplane.cli.output import (
    OutputFormat,
    age_columns,
    emit,
    emit_page,
    fail,
    no_headers_option,
    output_option,
    reporting_failures,
    subject_column,
    text,
)
from shiplane.cli.tables import Column

audit_app = command_group("audit", "Read and verify the audit trail.")


def _details_text(details: dict[str, Any]) -> str:
    text = json.dumps(details, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


@audit_app.command("list")
def list_(
    actor: str | None = typer.Option(None, "--actor", help="Only events by this actor."),
    action: str | None = typer.Option(None, "--action", help="e.g. release.create"),
    app: str | None = typer.Option(None, "--app", help="Only events about this app."),
    env: str | None = typer.Option(None, "--env", help="Only events about this environment."),
    since: str | None = typer.Option(None, "--since", help="ISO 8601 time, inclusive."),
    until: str | None = typer.Option(None, "--until", help="ISO 8601 time, exclusive."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Page size (1..500)."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of a previous page."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List audit events, newest first."""
    params = {
        "actor": actor,
        "action": action,
        "app": app,
        "environment": env,
        "since": check_time(since, "--since"),
        "until": check_time(until, "--until"),
        "limit": limit,
        "cursor": cursor,
    }
    with reporting_failures(), open_client() as client:
        page = client.get("/audit", params)

    columns = audit_columns(page.get("items") or [], output)
    emit_page(page, output, columns, what="audit events", no_headers=no_headers, name="seq")


def audit_columns(items: list[dict[str, Any]], output: OutputFormat) -> list[Column]:
    """Readable at 80 columns (as `shiplane events` prints events): subjects as short
    unique ids; `-o wide` adds the whole ids, the time, the app and the details (at 80
    columns the details JSON had room for a few characters only)."""
    return [
        text("seq", "SEQ"),
        *age_columns("time", wide_header="TIME"),
        text("actor", "ACTOR"),
        text("action", "ACTION"),
        subject_column(items, output),
        text("app", "APP", wide=True),
        text("environment", "ENV"),
        Column("DETAILS", lambda e: _details_text(e.get("details") or {}), wide=True),
    ]


@audit_app.command("verify")
def verify(output: OutputFormat = output_option()) -> None:
    """Walk the hash chain; exit 1 naming the first bad event when it was tampered with."""
    with reporting_failures(), open_client() as client:
        result = client.get("/audit/verify")
    if output is not OutputFormat.table:
        emit(result, output, lambda _: "")
    if not result.get("ok"):
        fail(
            f"audit chain broken at event {result.get('first_bad_seq')}: "
            f"{result.get('reason') or 'hash mismatch'} "
            f"({result.get('checked')} events checked)"
        )
    if output is OutputFormat.table:
        typer.echo(f"audit chain ok: {result.get('checked')} events verified")


@audit_app.command("export")
def export() -> None:
    """Write every event, oldest first, as JSON lines to stdout."""
    with reporting_failures(), open_client() as client:
        for line in client.stream_lines("/audit/export"):
            if line:
                sys.stdout.write(line + "\n")
