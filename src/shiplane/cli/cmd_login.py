"""`shiplane login SERVER --token T [--name NAME]`: check the token, then store server and
token as a named context and make it the current one."""

from __future__ import annotations

from urllib.parse import urlsplit

import typer

from shiplane.cli.client import (
    ApiClient,
    Credentials,
    config_path,
    normalize_server,
    write_config_file,
)
from shiplane.cli.output import fail, reporting_failures


def context_name_for(server: str) -> str:
    """The default context name: the server's host and port (`127.0.0.1:8080`)."""
    return urlsplit(server).netloc or server


def login(
    server: str = typer.Argument(..., metavar="URL", help="Server URL, e.g. http://127.0.0.1:8080"),
    token: str = typer.Option(
        ..., "--token", "-t", metavar="TOKEN", help="An API token (see `shiplane token create`)."
    ),
    name: str | None = typer.Option(
        None, "--name", metavar="NAME", help="Context name (default: the server's HOST:PORT)."
    ),
) -> None:
    """Check TOKEN against the server and store both as context NAME, now the current one
    (config file mode 0600). Switch later with `shiplane context use NAME`."""
    credentials = Credentials(server=normalize_server(server), token=token.strip())
    with reporting_failures(), ApiClient(credentials) as client:
        me = client.get("/whoami")
    path = config_path()
    context = name or context_name_for(credentials.server)
    try:
        with reporting_failures():
            write_config_file(path, credentials, context)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    scope = ", ".join(me.get("environments") or []) or "all environments"
    typer.echo(
        f"Logged in to {credentials.server} as {me['name']} "
        f"(role {me['role']}, {scope}); saved as context {context!r} in {path}"
    )
