"""`shiplane replicas`: the live `shiplane serve` replicas and the leases they hold."""

from __future__ import annotations

import sys

from shiplane.cli.client import open_client
from shiplane.cli.output import (
    OutputFormat,
    emit,
    no_headers_option,
    output_option,
    reporting_failures,
    table_width,
)
from shiplane.cli.tables import Column, absolute, render_table


def replicas(
    no_headers: bool = no_headers_option(), output: OutputFormat = output_option()
) -> None:
    """List live replicas: promotions each works on, and its cluster watches and deploys.

    Example: shiplane replicas -o wide
    """
    with reporting_failures(), open_client() as client:
        data = client.get("/replicas")
    if output not in (OutputFormat.table, OutputFormat.wide):
        emit(data["replicas"] if output is OutputFormat.name else data, output, str, "replica")
        return
    if not data["replicas"]:
        sys.stderr.write("No live replicas (is an engine running? `shiplane serve --repo ...`).\n")
        return
    me = (data.get("self") or {}).get("replica")
    columns = [
        Column(
            "REPLICA", lambda r: str(r["replica"]) + (" (answered)" if r["replica"] == me else "")
        ),
        Column("PROMOTIONS", lambda r: str(r["promotions"])),
        Column("EXPIRES", lambda r: absolute(r["expires_at"])),
        Column("LEASES", lambda r: ", ".join(r["leases"]) or "-", flex=True),
    ]
    rendered = render_table(
        data["replicas"], columns, wide=output is OutputFormat.wide, headers=not no_headers,
        width=table_width(),
    )  # fmt: skip
    sys.stdout.write(rendered + "\n")
