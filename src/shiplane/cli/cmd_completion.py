"""`shiplane completion bash|zsh|fish`: the shell completion script on stdout."""

from __future__ import annotations

from enum import StrEnum

import typer

PROG = "shiplane"
COMPLETE_VAR = "_SHIPLANE_COMPLETE"  # read by main.main()


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Shell = typer.Argument(..., metavar="SHELL", help="bash, zsh or fish."),
) -> None:
    """Print the completion script for SHELL. Load it in the current shell with
    `source <(shiplane completion bash)` (zsh alike; fish: `shiplane completion fish |
    source`), or save it where your shell looks for completions."""
    from typer._completion_shared import get_completion_script

    script = get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value)
    typer.echo(script)
