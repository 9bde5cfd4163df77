"""Command groups of `shiplane`: a mistyped command gets a "did you mean" suggestion, as
in git and kubectl (`Error: No such command 'promtoe'. Did you mean 'promote'?`, exit 2).

Every group (the root and `release`, `promotion`, ...) is made with `command_group` so
that they all suggest the same way, with the project's one suggestion helper.
"""

from __future__ import annotations

from typing import Any

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from shiplane.domain.suggest import closest


class SuggestingGroup(TyperGroup):
    """A Typer group whose unknown-command error names the closest command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Typer's own suggestions list every loose match ('approve', 'resolve'); ours
        # name the closest one, as everywhere else in Shiplane.
        kwargs["suggest_commands"] = False
        super().__init__(*args, **kwargs)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            if args and exc.message.startswith("No such command"):
                match = closest(args[0], self.list_commands(ctx))
                if match is not None:
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {match!r}?"
            raise


def command_group(name: str, help: str) -> typer.Typer:
    """A sub-command group: `shiplane NAME` alone prints its help."""
    return typer.Typer(name=name, help=help, no_args_is_help=True, cls=SuggestingGroup)
