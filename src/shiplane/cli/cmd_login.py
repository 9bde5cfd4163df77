"""`shiplane login SERVER --token T`: check the token, then remember server and token."""

from __future__ import annotations

import typer

from shiplane.cli.client import (
    ApiClient,
    Credentials,
    config_path,
    normalize_server,
    write_config_file,
)
from shiplane.cli.output import fail, reporting_failures


def login(
    server: str = typer.Argument(..., help="Server URL, e.g. http://127.0.0.1:8080"),
    token: str = typer.Option(
        ..., "--token", "-t", help="An API token (see `shiplane token create`)."
    ),
) -> None:
    """Check TOKEN against SERVER and store both in the CLI config file (mode 0600)."""
    credentials = Credentials(server=normalize_server(server), token=token.strip())
    with reporting_failures(), ApiClient(credentials) as client:
        me = client.get("/whoami")
    path = config_path()
    try:
        write_config_file(path, credentials)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    scope = ", ".join(me.get("environments") or []) or "all environments"
    typer.echo(
        f"Logged in to {credentials.server} as {me['name']} "
        f"(role {me['role']}, {scope}); saved to {path}"
    )
