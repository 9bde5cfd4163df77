"""Entry point of the `shiplane` command.

The root is a plain Click group that knows every command by name, module and one-line
help (`registry.py`) and imports a command's module only when that command runs: `--help`
and every call pay for what they use, not for the server stack or the config models
(start-up budget: 150 ms for `--help`, 300 ms for a call to a local server).
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

from shiplane.cli.registry import COMMANDS, GROUP_HELP, CommandSpec

# Typer prints plain Click help (`Usage: shiplane promote [OPTIONS] RELEASE`) instead of
# Rich panels, and then does not import Rich at all. Set before Typer is first imported.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer

from shiplane.cli.groups import SuggestingGroup

# Values are converted without pydantic (about 100 ms of every call; cli/coercion.py).
# That module uses Typer internals; should another Typer lack them, its own (slower)
# converters stay in place (tests/unit/cli/test_startup.py would then fail).
try:
    from shiplane.cli.coercion import install
except ImportError:  # pragma: no cover
    pass
else:
    install()

COMPLETE_VAR = "_SHIPLANE_COMPLETE"


def load(spec: CommandSpec, name: str) -> Any:
    """Import the command's module and make its Click command, with the placeholders and
    the example of `help_text.py` applied."""
    from shiplane.cli.help_text import polish

    target = getattr(import_module(spec.module), spec.attr)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    polish(command, (name,))
    return command


class LazyGroup(SuggestingGroup):
    """Commands are listed from the registry and imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = COMMANDS.get(cmd_name)
        return None if spec is None else load(spec, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # From the registry: listing the commands imports none of them.
        for title, names in GROUP_HELP:
            with formatter.section(title):
                formatter.write_dl([(n, COMMANDS[n].summary) for n in names])


app = typer.Typer(
    name="shiplane",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: shiplane login http://127.0.0.1:8080 --token shp_...; shiplane status\n\n"
    "Run `shiplane COMMAND --help` for a command's options and an example.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"shiplane {version('shiplane')}")
        except PackageNotFoundError:
            typer.echo("shiplane 0.0.0+unknown")
        raise typer.Exit(0)


@app.callback()
def _root(
    server: str | None = typer.Option(
        None, "--server", metavar="URL",
        help="Server for this call (overrides SHIPLANE_SERVER and the context).",
    ),
    token: str | None = typer.Option(
        None, "--token", metavar="TOKEN",
        help="API token for this call (overrides SHIPLANE_TOKEN and the context).",
    ),
    context: str | None = typer.Option(
        None, "--context", metavar="NAME",
        help="Use this named context (`shiplane context list`), not the current one.",
    ),
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version,
        is_eager=True,
    ),
) -> None:  # fmt: skip
    """Promote immutable releases through a graph of Kubernetes environments."""
    from shiplane.cli.client import OVERRIDES

    OVERRIDES.server, OVERRIDES.token, OVERRIDES.context = server, token, context


def main() -> None:
    """Run the CLI; usage errors exit 2, failures 1 (docs/cli.md, exit codes)."""
    if os.environ.get(COMPLETE_VAR):
        from typer._completion_classes import completion_init

        completion_init()
    try:
        app(prog_name="shiplane", complete_var=COMPLETE_VAR)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
