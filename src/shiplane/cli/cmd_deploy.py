"""`shiplane sync`, `shiplane diff`, `shiplane history`: the deploy engine's commands."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from shiplane.cli.client import ApiClient, load_credentials, open_client
from shiplane.cli.output import (
    ID_MINIMUM,
    OutputFormat,
    age_columns,
    emit,
    emit_page,
    no_headers_option,
    output_option,
    reporting_failures,
    text,
    usage_error,
)
from shiplane.cli.tables import Column, short_ids

if TYPE_CHECKING:  # Rich is imported when a table is printed, not at start-up
    from rich.table import Table

# A sync waits for health; the server bounds that wait, the client must outlast it.
SYNC_TIMEOUT_S = 900.0


def _outcome_table(result: dict[str, Any]) -> Table | str:
    outcome = result.get("outcome") or {}
    apps: dict[str, Any] = outcome.get("apps") or {}
    if not apps:
        return f"{result['status']}: {result.get('step')}: {result.get('error')}"
    from rich.table import Table

    table = Table(
        "APP",
        "OBJECTS",
        "CHANGED",
        "PRUNED",
        "HEALTH",
        "DETAIL",
        title=f"{outcome.get('kind')} {outcome.get('environment')}: {result['status']}"
        f" at {str(outcome.get('git_commit') or '')[:12]}",
        title_justify="left",
    )
    for name, app in apps.items():
        table.add_row(
            name,
            str(app["objects"]),
            str(app["changed"]),
            str(app["pruned"]),
            app["health"],
            app.get("error") or app.get("removed") or app.get("health_reason") or "",
        )
    return table


def sync(
    environment: str = typer.Argument(..., help="Environment to sync."),
    app: str | None = typer.Argument(None, help="Only this app (default: every app)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Do not wait for health."),
    output: OutputFormat = output_option(),
) -> None:
    """Re-apply what git says to the environment's cluster, prune, and wait for health."""
    body = {"apps": [app] if app else [], "wait": not no_wait}
    with reporting_failures(), ApiClient(load_credentials(), timeout=SYNC_TIMEOUT_S) as client:
        result = client.request("POST", f"/environments/{environment}/sync", json=body)
    emit(result, output, _outcome_table)
    if result.get("status") != "succeeded":
        if output is OutputFormat.table:
            sys.stderr.write(f"error: {result.get('step')}: {result.get('error')}\n")
        raise typer.Exit(1)


def diff(
    environment: str | None = typer.Argument(None, help="Environment (with APP)."),
    app: str | None = typer.Argument(None, help="App to diff against the live cluster."),
    envs: tuple[str, str] | None = typer.Option(
        None, "--envs", metavar="ENV ENV", help="Compare two environments (versions aside)."
    ),
    only_app: list[str] = typer.Option([], "--app", help="With --envs: only these apps."),
    exit_code: bool = typer.Option(
        False, "--exit-code", help="Exit 1 when there are differences (like git diff)."
    ),
    output: OutputFormat = output_option(),
) -> None:
    """`diff ENV APP`: git (server-side dry-run) vs live. `diff --envs A B`: how two
    environments differ besides versions."""
    if envs is None and (environment is None or app is None):
        raise usage_error("give ENV APP, or --envs A B")
    if envs is not None and (environment is not None or app is not None):
        raise usage_error("give either ENV APP or --envs A B, not both")
    with reporting_failures(), open_client() as client:
        if envs is not None:
            data = client.get("/diff", {"a": envs[0], "b": envs[1], "app": only_app})
        else:
            data = client.get(f"/environments/{environment}/apps/{app}/diff")
    if output is not OutputFormat.table:
        emit(data, output, lambda _d: "")
    else:
        _print_diff(data, envs is not None)
    if exit_code and data.get("changed"):
        raise typer.Exit(1)


def _print_diff(data: dict[str, Any], between_envs: bool) -> None:
    out = sys.stdout
    if between_envs:
        apps: dict[str, list[dict[str, Any]]] = data.get("apps") or {}
        if not apps:
            out.write(f"no app is deployed in both {data['a']} and {data['b']}\n")
        for name, objects in apps.items():
            changed = [o for o in objects if o["diff"]]
            out.write(f"== {name}: {len(changed)} of {len(objects)} objects differ\n")
            for obj in changed:
                out.write(obj["diff"])
        return
    objects = data.get("objects") or []
    changes = [o for o in objects if o["change"] != "unchanged"]
    commit = str(data.get("git_commit") or "")[:12]
    out.write(
        f"{data['environment']}/{data['app']} at {commit}: "
        f"{len(changes)} of {len(objects)} objects would change\n"
    )
    for obj in changes:
        if obj["change"] == "error":
            out.write(f"! {obj['object']}: {obj['problem']}\n")
        else:
            out.write(f"# {obj['change']} {obj['object']}\n{obj['diff']}")


def run_detail(item: Mapping[str, Any]) -> str:
    """The DETAIL of a history row: the error or the failing step's detail; for an app
    removed from git, what its removal did (deleted, kept, orphaned)."""
    failed = [s for s in item["steps"] if s["outcome"] == "failed"]
    removed = [s for s in item["steps"] if s["name"] == "remove"]
    shown = failed or removed
    return str(item.get("error") or (shown[0]["detail"] if shown else "") or "-")


def history(
    environment: str | None = typer.Argument(None, help="Environment (default: all)."),
    app: str | None = typer.Argument(None, help="App (default: all)."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Page size (1..500)."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of a previous page."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """Deploys, syncs and rollbacks, newest first, with their outcome."""
    params = {"environment": environment, "app": app, "limit": limit, "cursor": cursor}
    with reporting_failures(), open_client() as client:
        page = client.get("/history", params)

    columns = history_columns(page.get("items") or [], output)
    emit_page(page, output, columns, what="deploys", no_headers=no_headers)


def history_columns(items: list[dict[str, Any]], output: OutputFormat) -> list[Column]:
    """Readable at 80 columns: the release says what runs; the commit and the actor are
    in `-o wide`."""
    releases = [str(i["release_id"]) for i in items if i.get("release_id")]
    wide = output is OutputFormat.wide
    shown = (
        {r: r for r in releases}
        if wide
        else short_ids(releases, type_prefix="rel-", minimum=ID_MINIMUM["rel-"])
    )

    return [
        *age_columns("started_at", wide_header="STARTED"),
        text("environment", "ENV"),
        text("app", "APP"),
        text("kind", "KIND"),
        text("status", "STATUS"),
        Column("RELEASE", lambda i: shown.get(str(i.get("release_id")), "-")),
        Column("COMMIT", lambda i: str(i.get("git_commit") or "-"), wide=True),
        text("actor", "ACTOR", wide=True),
        Column("DETAIL", run_detail, flex=True),
    ]
