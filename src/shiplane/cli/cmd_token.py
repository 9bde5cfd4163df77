"""`shiplane token create | list | revoke` (admin tokens only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer

from shiplane.cli.client import open_client
from shiplane.cli.groups import command_group
from shiplane.cli.output import (
    ID_MINIMUM,
    OutputFormat,
    age_columns,
    emit,
    emit_page,
    id_column,
    no_headers_option,
    output_option,
    reporting_failures,
    text,
    usage_error,
)
from shiplane.cli.tables import Column

if TYPE_CHECKING:  # Rich is imported when a table is printed, not at start-up
    from rich.table import Table

ROLES = ("viewer", "promoter", "approver", "admin")

token_app = command_group("token", "Manage API tokens.")


def _scope(token: Mapping[str, Any]) -> str:
    return ", ".join(token.get("environments") or []) or "all"


def _status(token: Mapping[str, Any]) -> str:
    return "revoked" if token.get("revoked_at") else "active"


def token_table(token: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", token["id"])
    table.add_row("name", token["name"])
    table.add_row("role", token["role"])
    table.add_row("environments", _scope(token))
    table.add_row("status", _status(token))
    return table


@token_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help="viewer, promoter, approver or admin."),
    env: list[str] = typer.Option([], "--env", help="Limit to ENV; repeatable. Default: all."),
    name: str | None = typer.Option(None, "--name", help="Readable name (the audit actor)."),
    group: list[str] = typer.Option(
        [], "--group", help="Approver group of the holder; repeatable (see approvals.groups)."
    ),
    output: OutputFormat = output_option(),
) -> None:
    """Create a token and print it once: it cannot be shown again."""
    if role.lower() not in ROLES:
        raise usage_error(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}", "--role")
    body = {"role": role.lower(), "environments": list(env), "name": name, "groups": list(group)}
    with reporting_failures(), open_client() as client:
        created = client.request("POST", "/tokens", json=body)

    def table(data: dict[str, Any]) -> str:
        record = data["record"]
        return (
            f"Created token {record['name']} ({record['id']}, role {record['role']}, "
            f"environments: {_scope(record)}).\n"
            "Store it now, it is shown only this once:\n"
            f"{data['token']}"
        )

    emit(created, output, table)


@token_app.command("list")
def list_(
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Page size (1..500)."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of a previous page."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List tokens (never their secrets)."""
    with reporting_failures(), open_client() as client:
        page = client.get("/tokens", {"limit": limit, "cursor": cursor})

    items = page.get("items") or []
    columns = [
        id_column(items, output, type_prefix="tok-", minimum=ID_MINIMUM["tok-"]),
        text("name", "NAME"),
        text("role", "ROLE"),
        Column("ENVIRONMENTS", _scope, flex=True),
        Column("STATUS", _status),
        text("created_by", "CREATED BY", wide=True),
        *age_columns("last_used_at", header="LAST USED", wide_header="LAST USED AT"),
    ]
    emit_page(page, output, columns, what="tokens", no_headers=no_headers)


@token_app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., metavar="ID", help="The token id (see `token list`)."),
    output: OutputFormat = output_option(),
) -> None:
    """Revoke a token: it stops working immediately."""
    with reporting_failures(), open_client() as client:
        record = client.request("DELETE", f"/tokens/{quote(token_id, safe='')}")
    emit(record, output, lambda t: f"revoked token {t['name']} ({t['id']})")
