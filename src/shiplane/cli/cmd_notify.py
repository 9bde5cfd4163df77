"""`shiplane notifications list | show | retry`: the notification outbox."""

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
    short_time,
    text,
    usage_error,
)
from shiplane.cli.tables import Column

if TYPE_CHECKING:  # Rich is imported when a table is printed, not at start-up
    from rich.table import Table

STATUSES = ("pending", "delivered", "failed")

notifications_app = command_group(
    "notifications", "Notification deliveries: list them, retry failed ones."
)


def _error(delivery: dict[str, Any]) -> str:
    text = delivery.get("last_error") or "-"
    return text if len(text) <= 60 else text[:57] + "..."


def _delivery_table(delivery: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key in ("id", "status", "channel", "channel_kind", "event", "promotion_id", "sequence",
                "attempts"):  # fmt: skip
        table.add_row(key.replace("_", " "), str(delivery.get(key)))
    table.add_row("next attempt", short_time(delivery.get("next_attempt_at")))
    table.add_row("delivered at", short_time(delivery.get("delivered_at")))
    table.add_row("last error", delivery.get("last_error") or "-")
    return table


@notifications_app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help="pending, delivered or failed."),
    promotion: str | None = typer.Option(None, "--promotion", help="Only this promotion's."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Page size (1..500)."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of a previous page."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List notification deliveries, newest first."""
    if status is not None and status.lower() not in STATUSES:
        raise usage_error(
            f"unknown status {status!r}; expected one of: {', '.join(STATUSES)}", "--status"
        )
    params = {
        "status": status.lower() if status else None,
        "promotion": promotion,
        "limit": limit,
        "cursor": cursor,
    }
    with reporting_failures(), open_client() as client:
        page = client.get("/notifications", params)

    columns = delivery_columns(page.get("items") or [], output)
    emit_page(page, output, columns, what="notifications", no_headers=no_headers)


def delivery_columns(items: list[dict[str, Any]], output: OutputFormat) -> list[Column]:
    """Readable at 80 columns: the event without the `promotion.` every event name starts
    with (`waiting_for_approval`), the attempts and the promotion in `-o wide`, which
    shows the whole event names."""
    wide = output is OutputFormat.wide

    def event(delivery: Mapping[str, Any]) -> str:
        name = str(delivery.get("event") or "-")
        return name if wide else name.removeprefix("promotion.")

    return [
        # dlv- + 12 hex of the creation time in ms + random: 14 keep one ms apart.
        id_column(items, output, type_prefix="dlv-", minimum=ID_MINIMUM["dlv-"]),
        text("status", "STATUS"),
        text("channel", "CHANNEL"),
        Column("EVENT", event),
        text("promotion_id", "PROMOTION", wide=True),
        text("sequence", "SEQ", wide=True),
        text("attempts", "ATTEMPTS", wide=True),
        Column(
            "NEXT",
            lambda d: short_time(d.get("next_attempt_at")) if d["status"] == "pending" else "-",
            wide=True,
        ),
        *age_columns("created_at"),
        Column("ERROR", lambda d: str(d.get("last_error") or "-"), flex=True),
    ]


@notifications_app.command("show")
def show(
    delivery_id: str = typer.Argument(..., metavar="ID", help="Delivery id (dlv-...)."),
    output: OutputFormat = output_option(),
) -> None:
    """Show one delivery, with its last error."""
    with reporting_failures(), open_client() as client:
        delivery = client.get(f"/notifications/{quote(delivery_id, safe='')}")
    emit(delivery, output, _delivery_table)


@notifications_app.command("retry")
def retry(
    delivery_id: str = typer.Argument(..., metavar="ID", help="Id of a failed delivery."),
    output: OutputFormat = output_option(),
) -> None:
    """Send a failed delivery again (admin)."""
    with reporting_failures(), open_client() as client:
        delivery = client.request("POST", f"/notifications/{quote(delivery_id, safe='')}/retry")

    def table(data: dict[str, Any]) -> str:
        return (
            f"notification {data['id']} ({data['event']} to {data['channel']}) will be sent again"
        )

    emit(delivery, output, table)
