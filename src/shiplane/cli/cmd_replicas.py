"""`shiplane replicas`: the live `shiplane serve` replicas and the leases they hold."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from shiplane.cli.client import open_client
from shiplane.cli.output import OutputFormat, emit, output_option, reporting_failures, short_time


def replicas(output: OutputFormat = output_option()) -> None:
    """List live replicas: promotions each works on, and its cluster watches and deploys."""
    with reporting_failures(), open_client() as client:
        data = client.get("/replicas")

    def table(d: dict[str, Any]) -> Table | str:
        if not d["replicas"]:
            return "No live replicas (is an engine running? `shiplane serve --repo ...`)."
        me = (d.get("self") or {}).get("replica")
        t = Table(title="Replicas")
        for column in ("REPLICA", "PROMOTIONS", "LEASES", "EXPIRES"):
            t.add_column(column)
        for r in d["replicas"]:
            name = r["replica"] + (" (answered)" if r["replica"] == me else "")
            t.add_row(
                name, str(r["promotions"]), ", ".join(r["leases"]) or "-",
                short_time(r["expires_at"]),
            )  # fmt: skip
        return t

    emit(data, output, table)
