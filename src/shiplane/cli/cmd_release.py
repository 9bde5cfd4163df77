"""`shiplane release create | list | show | timeline | diff`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer

from shiplane.cli.args import parse_artifact_args, parse_key_values
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
)
from shiplane.cli.tables import Column

if TYPE_CHECKING:  # Rich is imported when a table is printed, not at start-up
    from rich.table import Table

RELEASE_ID_MIN = ID_MINIMUM["rel-"]

release_app = command_group("release", "Create and inspect releases.")


def _artifacts_text(release: Mapping[str, Any]) -> str:
    # An artifact without a digest deploys a mutable tag: marked (`releases.digests`).
    return "\n".join(
        f"{a['app']}={a['ref']}" + (" (unresolved)" if a.get("unresolved") else "")
        for a in release.get("artifacts", [])
    )


def _per_app_text(release: Mapping[str, Any], key: str) -> str:
    return "\n".join(f"{app}={value}" for app, value in (release.get(key) or {}).items())


def _labels_text(release: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (release.get("labels") or {}).items()) or "-"


def release_table(release: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("id", release["id"])
    table.add_row("alias", release["alias"])
    table.add_row("artifacts", _artifacts_text(release))
    # Shown only when the release has them: most releases are images only.
    for key in ("charts", "commits"):
        if release.get(key):
            table.add_row(key, _per_app_text(release, key))
    table.add_row("labels", _labels_text(release))
    table.add_row("creator", release["creator"])
    table.add_row("created", short_time(release.get("created_at")))
    return table


@release_app.command("create")
def create(
    artifacts: list[str] = typer.Argument(
        ..., metavar="APP=IMAGE...", help="App and image, e.g. checkout=reg/shop/checkout:1.4"
    ),
    chart: list[str] = typer.Option(
        [],
        "--chart",
        metavar="APP=VERSION",
        help="The chart version APP deploys (VERSION or VERSION@sha256:...); repeatable.",
    ),
    commit: list[str] = typer.Option(
        [],
        "--commit",
        metavar="APP=SHA",
        help="The config commit whose manifests APP deploys (full sha); repeatable.",
    ),
    alias: str | None = typer.Option(None, "--alias", help="A readable name."),
    label: list[str] = typer.Option([], "--label", "-l", help="KEY=VALUE; repeatable."),
    output: OutputFormat = output_option(),
) -> None:
    """Create a release (idempotent: the same contents give the same release)."""
    body = {
        "artifacts": parse_artifact_args(artifacts),
        "charts": parse_key_values(chart, "--chart"),
        "commits": parse_key_values(commit, "--commit"),
        "alias": alias,
        "labels": parse_key_values(label, "--label"),
    }
    with reporting_failures(), open_client() as client:
        release = client.request("POST", "/releases", json=body)
    emit(release, output, release_table)


@release_app.command("list")
def list_(
    app: str | None = typer.Option(None, "--app", help="Only releases containing APP."),
    label: list[str] = typer.Option([], "--label", "-l", help="KEY=VALUE; repeatable."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Page size (1..500)."),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of a previous page."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List releases, newest first."""
    parse_key_values(label, "--label")
    params = {"app": app, "label": list(label), "limit": limit, "cursor": cursor}
    with reporting_failures(), open_client() as client:
        page = client.get("/releases", params)

    items = page.get("items") or []
    columns = [
        id_column(items, output, type_prefix="rel-", minimum=RELEASE_ID_MIN),
        text("alias", "ALIAS"),
        text("creator", "CREATOR"),
        *age_columns("created_at"),
        Column("LABELS", _labels_text, wide=True),
        Column("ARTIFACTS", lambda r: ",".join(_artifacts_text(r).splitlines()), flex=True),
    ]
    emit_page(page, output, columns, what="releases", no_headers=no_headers)


@release_app.command("show")
def show(
    ref: str = typer.Argument(..., help="Release id, unique id prefix, or alias."),
    output: OutputFormat = output_option(),
) -> None:
    """Show one release."""
    with reporting_failures(), open_client() as client:
        release = client.get(f"/releases/{quote(ref, safe='')}")
    emit(release, output, release_table)


@release_app.command("timeline")
def timeline(
    release: str = typer.Argument(..., help="Release id, unique id prefix, or alias."),
    output: OutputFormat = output_option(),
) -> None:
    """Where a release runs now and its promotions across environments, with times."""
    from shiplane.cli.cmd_views import show_timeline

    show_timeline(release, output)


@release_app.command("diff")
def diff(
    release: str = typer.Argument(..., help="Release id, unique id prefix, or alias."),
    against: str = typer.Argument(..., help="The release to compare it with."),
    env: str | None = typer.Option(
        None, "--env", metavar="ENV", help="Also render both for ENV and diff the manifests."
    ),
    output: OutputFormat = output_option(),
) -> None:
    """How AGAINST differs from RELEASE: artifacts per app and, with --env, the rendered
    manifests (images shown)."""
    from shiplane.cli.cmd_views import show_release_diff

    show_release_diff(release, against, env, output)
