"""`shiplane status`: the apps x environments matrix."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from shiplane.cli.client import open_client
from shiplane.cli.output import OutputFormat, emit, output_option, reporting_failures


def matrix_table(matrix: dict[str, Any]) -> Table | str:
    environments: list[str] = matrix.get("environments") or []
    apps: list[str] = matrix.get("apps") or []
    if not apps or not environments:
        return "no apps or environments: start the server with --config shiplane.yaml"
    cells = {(c["app"], c["environment"]): c for c in matrix.get("cells") or []}
    pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for promotion in matrix.get("pending") or []:
        for app in promotion["apps"]:
            pending.setdefault((app, promotion["environment"]), []).append(promotion)
    table = Table("APP", *environments, title=f"Project {matrix.get('project')}")
    for app in apps:
        row = [app]
        for env in environments:
            cell = cells.get((app, env)) or {}
            release = cell.get("release_alias") or cell.get("release_id")
            state = "/".join(s for s in (cell.get("health"), cell.get("sync_status")) if s)
            waiting = [
                f"-> {p['release_id'][:12]} {p['state']}: {p['reason'][:60]}"
                for p in pending.get((app, env), [])
            ]
            if not release and not state and not waiting:
                row.append("-")
                continue
            # Synced from git without a pinned release: the manifests as they are.
            lines = [release or ("(unpinned)" if state else "-")]
            lines += [state] if state else []
            row.append("\n".join(lines + waiting))
        table.add_row(*row)
    return table


def status(output: OutputFormat = output_option()) -> None:
    """Show the apps x environments matrix: the release each environment runs."""
    with reporting_failures(), open_client() as client:
        matrix = client.get("/matrix")
    emit(matrix, output, matrix_table)
