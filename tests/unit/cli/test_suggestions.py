"""A mistyped command gets the closest command name, at the top and in every group, as
in git and kubectl; it is a usage error (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shiplane.cli.groups import SuggestingGroup
from shiplane.cli.main import load
from shiplane.cli.registry import COMMANDS

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["promtoe"], "Error: No such command 'promtoe'. Did you mean 'promote'?"),
        (["Status"], "Error: No such command 'Status'. Did you mean 'status'?"),
        (["promotion", "aprove"], "Error: No such command 'aprove'. Did you mean 'approve'?"),
        (["release", "lst"], "Error: No such command 'lst'. Did you mean 'list'?"),
        (["localcluster", "dwn", "x"], "Error: No such command 'dwn'. Did you mean 'down'?"),
        (["xyzzy"], "Error: No such command 'xyzzy'."),  # nothing close: no guess
    ],
)
def test_a_mistyped_command_names_the_closest_one(args: list[str], error: str) -> None:
    done = subprocess.run([SHIPLANE, *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.rstrip().splitlines()[-1] == error
    assert done.stdout == ""


def test_every_command_group_suggests() -> None:
    groups = {n: c for n, s in COMMANDS.items() if (c := load(s, n)) and hasattr(c, "commands")}
    assert {"release", "promotion", "audit", "token", "context", "localcluster"} <= set(groups)
    for name, group in groups.items():
        assert isinstance(group, SuggestingGroup), name
