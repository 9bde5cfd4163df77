"""`shiplane login SERVER --token T [--name NAME]`: check the token, then store server and
token as a named context and make it the current one. `--sso` signs in through the
server's single sign-on instead (cli/sso_login.py) and stores the token it answers."""

from __future__ import annotations

import sys
import webbrowser
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
from shiplane.cli.sso_login import sso_login

SSO_TIMEOUT = 300.0


def context_name_for(server: str) -> str:
    """The default context name: the server's host and port (`127.0.0.1:8080`)."""
    return urlsplit(server).netloc or server


def _sso_token(server: str, port: int, browser: bool) -> str:
    def show(url: str) -> None:
        print(f"Sign in at:\n  {url}", file=sys.stderr, flush=True)
        if browser:
            webbrowser.open(url)

    with reporting_failures(), ApiClient(Credentials(server=server, token="")) as client:
        answer = sso_login(client, port=port, timeout=SSO_TIMEOUT, show=show)
    return str(answer["token"])


def login(
    server: str = typer.Argument(..., metavar="URL", help="Server URL, e.g. http://127.0.0.1:8080"),
    token: str | None = typer.Option(
        None, "--token", "-t", metavar="TOKEN", help="An API token (see `shiplane token create`)."
    ),
    sso: bool = typer.Option(
        False,
        "--sso",
        help="Sign in through the server's single sign-on (a browser and a loopback "
        "redirect) instead of giving a token.",
    ),
    port: int = typer.Option(
        0,
        "--port",
        min=0,
        max=65535,
        metavar="PORT",
        help="With --sso: the loopback port to listen on (default: the server's "
        "sso.cliPort, else a free one).",
    ),
    browser: bool = typer.Option(
        True,
        "--browser/--no-browser",
        help="With --sso: open the browser (else only print the URL).",
    ),
    name: str | None = typer.Option(
        None, "--name", metavar="NAME", help="Context name (default: the server's HOST:PORT)."
    ),
) -> None:
    """Check TOKEN against the server (or sign in with --sso) and store the server and
    token as context NAME, now the current one (config file mode 0600). Switch later
    with `shiplane context use NAME`."""
    if sso == (token is not None):
        fail("give either --token TOKEN or --sso")
    base = normalize_server(server)
    plaintext = _sso_token(base, port, browser) if sso else (token or "").strip()
    credentials = Credentials(server=base, token=plaintext)
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
    lower = me.get("environment_roles") or {}
    if lower:
        scope += "; " + ", ".join(
            f"{role} in {'other environments' if env == '*' else env}"
            for env, role in sorted(lower.items())
        )
    typer.echo(
        f"Logged in to {credentials.server} as {me['name']} "
        f"(role {me['role']}, {scope}); saved as context {context!r} in {path}"
    )
