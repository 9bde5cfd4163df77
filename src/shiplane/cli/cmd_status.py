"""`shiplane status`: the apps x environments matrix."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from shiplane.cli.client import open_client
from shiplane.cli.output import (
    OutputFormat,
    emit,
    no_headers_option,
    output_option,
    reporting_failures,
    table_width,
)
from shiplane.cli.tables import Column, render_table

if TYPE_CHECKING:
    from rich.table import Table


# The release deploys a mutable tag for this app (`releases.digests`), as `release list`
# marks the artifact.
UNRESOLVED = "(unresolved)"


def matrix_plain(matrix: dict[str, Any], *, headers: bool = True, wide: bool = False) -> str:
    """The matrix as plain columns (piped output, `--no-headers`): one line per app, each
    cell `RELEASE [(unresolved)] HEALTH/SYNC` (SYNC `Orphaned`: removed from git, objects
    left; `(unresolved)`: the app's image in that release has no digest), and a
    `+N pending` note when promotions wait there; freezes and orphans follow."""
    environments: list[str] = matrix.get("environments") or []
    apps: list[str] = matrix.get("apps") or []
    if not apps or not environments:
        return "no apps or environments: start the server with --config shiplane.yaml"
    cells = {(c["app"], c["environment"]): c for c in matrix.get("cells") or []}
    pending: dict[tuple[str, str], int] = {}
    moving: dict[tuple[str, str], str] = {}
    for promotion in matrix.get("pending") or []:
        for app in promotion["apps"]:
            key = (app, promotion["environment"])
            pending[key] = pending.get(key, 0) + 1
            if note := strategy_note(promotion, app):
                moving[key] = note
    held = held_cells(matrix)

    def cell(app: str, env: str) -> str:
        data = cells.get((app, env)) or {}
        release = (data.get("release_id") if wide else None) or data.get("release_alias")
        release = release or data.get("release_id")
        state = "/".join(s for s in (data.get("health"), data.get("sync_status")) if s)
        parts = [release or ("(unpinned)" if state else "-")] + ([state] if state else [])
        if data.get("unresolved"):
            parts.insert(1, UNRESOLVED)
        if (app, env) in held:
            parts.append("held")
        if pending.get((app, env)):
            parts.append(f"+{pending[(app, env)]} pending")
        if (app, env) in moving:
            parts.append(moving[(app, env)])
        return " ".join(parts)

    def column(env: str) -> Column:
        return Column(env.upper(), lambda r: cell(str(r["app"]), env))

    columns = [Column("APP", lambda r: str(r["app"])), *(column(e) for e in environments)]
    rows = [{"app": app} for app in apps]
    table = render_table(rows, columns, headers=headers, wide=wide, width=table_width())
    return "\n".join(
        [
            table,
            *freeze_lines(matrix),
            *orphan_lines(matrix),
            *cluster_lines(matrix),
            *config_lines(matrix, in_force=wide),
        ]
    )


def held_cells(matrix: dict[str, Any]) -> set[tuple[str, str]]:
    """(app, environment) pairs under a hold (no auto-promotion until `unhold`)."""
    return {(h["app"], h["environment"]) for h in matrix.get("holds") or []}


def freeze_lines(matrix: dict[str, Any]) -> list[str]:
    """One line per freeze in force, after the matrix: frozen environments are not a cell."""
    lines = []
    for f in matrix.get("freezes") or []:
        where = "the whole project" if f["environment"] == "*" else f["environment"]
        reason = f": {f['reason']}" if f.get("reason") else ""
        lines.append(f"FROZEN {where} (by {f['set_by']}){reason}")
    return lines


def orphan_lines(matrix: dict[str, Any]) -> list[str]:
    """One line per orphaned (environment, app), after the matrix: apps removed from git
    whose objects were left in the cluster (prune disabled), including apps that
    shiplane.yaml no longer defines (they have no row)."""
    return [
        f"ORPHANED {o['app']} in {o['environment']}: {o['reason']}"
        for o in matrix.get("orphans") or []
    ]


def cluster_lines(matrix: dict[str, Any]) -> list[str]:
    """One line per cluster Shiplane cannot use now, with the server's reason
    (`GET /api/v1/clusters`): credentials expired or rejected, permissions lost."""
    return [
        f"CLUSTER {c['name']} {'not reachable' if not c['reachable'] else 'degraded'}: "
        f"{c.get('reason') or 'no answer'}"
        for c in matrix.get("clusters") or []
        if not c["reachable"] or c.get("reason")
    ]


ERRORS_SHOWN = 3


def config_lines(matrix: dict[str, Any], *, in_force: bool = True) -> list[str]:
    """The shiplane.yaml in force (with `in_force`) and, when a newer version was
    refused, its commit and first errors: the server runs on the last good version."""
    config = matrix.get("config") or {}
    commit = config.get("commit")
    if not commit:
        return []
    lines = []
    if in_force:
        follows = f", following {config['branch']}" if config.get("following") else ""
        lines.append(f"CONFIG shiplane.yaml at {commit[:12]}{follows}")
    rejected = config.get("rejected")
    if rejected:
        count = rejected["count"]
        lines.append(
            f"CONFIG REJECTED shiplane.yaml at {rejected['commit'][:12]} "
            f"({count} error{'s' if count != 1 else ''}); still in force: {commit[:12]}"
        )
        lines += [f"  {error}" for error in rejected["errors"][:ERRORS_SHOWN]]
        if count > ERRORS_SHOWN:
            lines.append(f"  ... and {count - ERRORS_SHOWN} more (shiplane validate)")
    return lines


def strategy_note(promotion: dict[str, Any], app: str) -> str | None:
    """`canary 25%` while a progressive strategy moves `app` (docs/strategies.md)."""
    summary = (promotion.get("strategy") or {}).get(app)
    return str(summary).split(" (", 1)[0] if summary else None


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
    from rich.table import Table

    held = held_cells(matrix)
    caption = (
        "\n".join(
            [
                *freeze_lines(matrix),
                *orphan_lines(matrix),
                *cluster_lines(matrix),
                *config_lines(matrix),
            ]
        )
        or None
    )
    table = Table("APP", *environments, title=f"Project {matrix.get('project')}", caption=caption)
    for app in apps:
        row = [app]
        for env in environments:
            cell = cells.get((app, env)) or {}
            release = cell.get("release_alias") or cell.get("release_id")
            state = "/".join(s for s in (cell.get("health"), cell.get("sync_status")) if s)
            waiting = [
                f"-> {p['release_id'][:12]} {p['state']}: "
                + (strategy_note(p, app) or p["reason"][:60])
                for p in pending.get((app, env), [])
            ]
            hold = ["held (no auto-promotion)"] if (app, env) in held else []
            if not release and not state and not waiting and not hold:
                row.append("-")
                continue
            # Synced from git without a pinned release: the manifests as they are.
            lines = [release or ("(unpinned)" if state else "-")]
            lines += [UNRESOLVED] if cell.get("unresolved") else []
            lines += [state] if state else []
            lines += hold
            row.append("\n".join(lines + waiting))
        table.add_row(*row)
    return table


def status(
    watch: bool = typer.Option(
        False, "--watch", "-w", help="Print it again whenever something happens (Ctrl-C ends)."
    ),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """Show the apps x environments matrix: the release each environment runs.

    On a terminal each cell also lists the promotions waiting there; piped, or with
    --no-headers, the matrix is plain columns, one line per app.
    """
    if watch:
        from shiplane.cli.cmd_watch import watch_matrix

        with reporting_failures(), open_client() as client:
            watch_matrix(client, lambda m: _show(m, no_headers, output))
        return
    with reporting_failures(), open_client() as client:
        matrix = client.get("/matrix")
        matrix["clusters"] = cluster_problems(client)
    _show(matrix, no_headers, output)


def cluster_problems(client: Any) -> list[dict[str, Any]]:
    """The clusters the server cannot use now; empty from a server without the endpoint."""
    try:
        found = client.get("/clusters")
    except Exception:  # an older server, or a token without the viewer role: no lines
        return []
    return [c for c in found.get("clusters") or [] if not c["reachable"] or c.get("reason")]


def _show(matrix: dict[str, Any], no_headers: bool, output: OutputFormat) -> None:
    plain = no_headers or output is OutputFormat.wide or not sys.stdout.isatty()
    if output in (OutputFormat.table, OutputFormat.wide) and plain:
        wide = output is OutputFormat.wide
        sys.stdout.write(matrix_plain(matrix, headers=not no_headers, wide=wide) + "\n")
        return
    if output is OutputFormat.name:
        sys.stdout.write("".join(f"{app}\n" for app in matrix.get("apps") or []))
        return
    emit(matrix, output, matrix_table)
