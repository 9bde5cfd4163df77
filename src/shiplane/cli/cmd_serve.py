"""`shiplane serve`: run the API server (the only command that does not talk HTTP)."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.cli.output import fail


def serve(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="shiplane.yaml to load (the matrix uses it)."
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
) -> None:
    """Run the API server until SIGTERM or Ctrl-C."""
    # Imported here: the server stack is heavy and the other commands never need it.
    from shiplane.api.server import ServeError, ServeOptions
    from shiplane.api.server import serve as run_server

    options = ServeOptions(config=config, database_url=db, listen=listen, data_dir=data_dir)
    try:
        run_server(options)
    except ServeError as exc:
        fail(str(exc))
