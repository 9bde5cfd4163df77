"""Help, completion and contexts, without a server: every command has an example and
readable placeholders, the registry lists every command, contexts resolve in order."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiplane.cli.client import OVERRIDES, CliFailure, Credentials, load_credentials
from shiplane.cli.help_text import EXAMPLES
from shiplane.cli.main import load
from shiplane.cli.registry import COMMANDS, GROUP_HELP

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))
PYTHON_TYPES = ("<str>", "<int", "<bool>", "<float", "<path>", "TEXT", "INTEGER", "{")


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _walk(sub, (*path, name))


def _all_commands() -> list[tuple[tuple[str, ...], Any]]:
    return [pair for name, spec in COMMANDS.items() for pair in _walk(load(spec, name), (name,))]


def test_the_root_help_lists_every_registered_command_once() -> None:
    listed = [name for _title, names in GROUP_HELP for name in names]
    assert sorted(listed) == sorted(COMMANDS)


@pytest.mark.parametrize("path", [" ".join(p) for p, _c in _all_commands()])
def test_every_command_has_an_example_and_readable_placeholders(path: str) -> None:
    command = dict((" ".join(p), c) for p, c in _all_commands())[path]
    assert path in EXAMPLES, f"add an example for `shiplane {path}` to help_text.EXAMPLES"
    assert (command.epilog or "").startswith("Example: shiplane") or "shiplane" in EXAMPLES[path]
    result = subprocess.run(
        [SHIPLANE, *path.split(), "--help"], capture_output=True, text=True, timeout=30,
        env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Example:" in result.stdout
    usage_and_options = result.stdout
    for marker in PYTHON_TYPES:
        assert marker not in usage_and_options, (path, marker, result.stdout)


def test_verbs_have_one_home_and_top_level_aliases() -> None:
    promotion = load(COMMANDS["promotion"], "promotion")
    for verb in ("approve", "reject", "explain"):
        alias = load(COMMANDS[verb], verb)
        home = promotion.commands[verb]
        # Typer wraps callbacks; the same function gives the same help and parameters.
        assert alias.help == home.help and alias.help, verb
        assert [p.name for p in alias.params] == [p.name for p in home.params], verb


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o default -F _shiplane_completion shiplane"),
    ("zsh", "compdef _shiplane_completion shiplane"),
    ("fish", "complete --command shiplane"),
])  # fmt: skip
def test_completion_scripts(shell: str, marker: str) -> None:
    result = subprocess.run(
        [SHIPLANE, "completion", shell], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout and "_SHIPLANE_COMPLETE" in result.stdout


def test_completion_completes_nested_commands() -> None:
    env = {**os.environ, "_SHIPLANE_COMPLETE": "complete_bash",
           "COMP_WORDS": "shiplane promotion ap", "COMP_CWORD": "2"}  # fmt: skip
    result = subprocess.run([SHIPLANE], capture_output=True, text=True, env=env, timeout=30)
    assert result.stdout.split() == ["approve"]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "config.yaml"
    monkeypatch.setenv("SHIPLANE_CONFIG", str(path))
    for var in ("SHIPLANE_SERVER", "SHIPLANE_TOKEN", "SHIPLANE_CONTEXT"):
        monkeypatch.delenv(var, raising=False)
    yield path
    OVERRIDES.server = OVERRIDES.token = OVERRIDES.context = None


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data))


def test_contexts_resolve_flags_then_environment_then_context(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(config, {"current-context": "a", "contexts": {
        "a": {"server": "http://a:1", "token": "shp_a"},
        "b": {"server": "http://b:2", "token": "shp_b"},
    }})  # fmt: skip
    assert load_credentials() == Credentials("http://a:1", "shp_a")
    monkeypatch.setenv("SHIPLANE_CONTEXT", "b")
    assert load_credentials() == Credentials("http://b:2", "shp_b")
    OVERRIDES.context = "a"
    assert load_credentials() == Credentials("http://a:1", "shp_a")
    monkeypatch.setenv("SHIPLANE_TOKEN", "shp_env")
    assert load_credentials() == Credentials("http://a:1", "shp_env")
    OVERRIDES.server, OVERRIDES.token = "c:3", "shp_flag"
    assert load_credentials() == Credentials("http://c:3", "shp_flag")
    OVERRIDES.context = "nope"
    with pytest.raises(CliFailure, match=r"no context named 'nope'.*known: a, b"):
        load_credentials()


def test_a_file_from_before_contexts_reads_as_the_default_context(config: Path) -> None:
    _write(config, {"server": "http://old:1", "token": "shp_old"})
    assert load_credentials() == Credentials("http://old:1", "shp_old")
