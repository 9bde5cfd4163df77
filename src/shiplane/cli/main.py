"""Entry point of the `shiplane` command.

Each group of commands lives in its own module and registers itself on the root app,
so that modules stay small and owned by one concern.
"""

from __future__ import annotations

import sys

import typer

from shiplane import __version__
from shiplane.cli import cmd_api, cmd_config, cmd_demo, cmd_localcluster

app = typer.Typer(
    name="shiplane",
    help="Promote immutable releases through a graph of Kubernetes environments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"shiplane {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_version_callback,
        is_eager=True,
    ),
) -> None:
    """Shiplane: application promotion for Kubernetes."""


cmd_config.register(app)
cmd_localcluster.register(app)
cmd_api.register(app)
cmd_demo.register(app)


def main() -> None:
    """Run the CLI; usage errors exit 2, failures 1 (DESIGN.md, exit codes)."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
