"""`shiplane serve`: run the API server (the only command that does not talk HTTP)."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

import typer

from shiplane.cli.output import fail


def default_renderer_tools(environ: MutableMapping[str, str] | None = None) -> None:
    """The server's renderers find helm and kustomize through SHIPLANE_HELM and
    SHIPLANE_KUSTOMIZE (else PATH). Where a variable is unset and `shiplane localcluster
    build` made the binary, point the variable at it: the local set-up works as it is."""
    from shiplane.gitops.renderers.context import TOOL_VARIABLES
    from shiplane.localcluster.build import binary_path

    env = os.environ if environ is None else environ
    for tool, variable in TOOL_VARIABLES.items():
        built = binary_path(tool, tool)
        if not env.get(variable) and built.is_file():
            env[variable] = str(built)


def serve(
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="shiplane.yaml to load (default with --repo: the one at the repository's root).",
    ),
    repo: str | None = typer.Option(
        None,
        "--repo",
        help="GitOps repository to deploy from: a path, file://, git:// or http(s) URL "
        "(default: $SHIPLANE_REPO). Without it the server has no engine.",
    ),
    branch: str = typer.Option("main", "--branch", help="Branch of the GitOps repository."),
    health_timeout: float = typer.Option(
        300.0, "--health-timeout", help="Seconds a deploy waits for health."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL (default: $SHIPLANE_DATABASE_URL, else SQLite in the data dir).",
    ),
    listen: str = typer.Option(
        "127.0.0.1:8080", "--listen", help="HOST:PORT to bind (port 0 picks a free one)."
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Data directory (default: $SHIPLANE_HOME, else ~/.local/share/shiplane).",
    ),
    lease_ttl: float | None = typer.Option(
        None,
        "--lease-ttl",
        help="Seconds a replica's leases last without a heartbeat; another replica takes "
        "over its work after that (default: $SHIPLANE_LEASE_TTL, else 15).",
    ),
    replica_id: str | None = typer.Option(
        None,
        "--replica-id",
        help="Name of this replica in leases, runs and metrics "
        "(default: $SHIPLANE_REPLICA_ID, else HOST-PID-RANDOM).",
    ),
    git_poll: float | None = typer.Option(
        None,
        "--git-poll",
        metavar="SECONDS",
        help="Look for a new shiplane.yaml at the branch head this often when it was read "
        "from --repo; 0 does not follow it (default: $SHIPLANE_GIT_POLL_SECONDS, else 30).",
    ),
    ui: bool = typer.Option(
        True,
        "--ui/--no-ui",
        help="Serve the web UI at /ui/ (a browser opening / lands there); --no-ui serves "
        "the API only.",
    ),
) -> None:
    """Run the API server (and the web UI) until SIGTERM or Ctrl-C."""
    # Imported here: the server stack is heavy and the other commands never need it.
    from shiplane.api.server import ServeError, ServeOptions
    from shiplane.api.server import serve as run_server

    default_renderer_tools()
    from shiplane.api.app import AppExtension

    extensions: list[AppExtension] = []
    if ui:
        from shiplane.web import install_ui

        extensions.append(install_ui)
    options = ServeOptions(
        config=config,
        database_url=db,
        listen=listen,
        data_dir=data_dir,
        repo=repo,
        branch=branch,
        health_timeout=health_timeout,
        lease_ttl=lease_ttl,
        replica_id=replica_id,
        git_poll=git_poll,
        extensions=tuple(extensions),
    )
    try:
        run_server(options)
    except ServeError as exc:
        fail(str(exc))
