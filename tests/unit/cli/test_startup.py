"""CLI start-up stays within budget: `--help` and a call import only what they use
(bench/cli.py measures the times beside kubectl)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))
# Never needed by the CLI's client commands: the server stack, config models, Rich, httpx,
# pydantic (Typer's converters: cli/coercion.py replaces them).
HEAVY = (
    "httpx", "rich", "fastapi", "sqlalchemy", "shiplane.config", "shiplane.api",
    "shiplane.engine", "shiplane.store", "shiplane.domain.releases", "pydantic_settings",
    "pydantic", "pydantic_core", "typer._adapters",
)  # fmt: skip


def _imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", SHIPLANE, *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip
    return {
        line.split("|")[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_root_help_imports_no_command_module() -> None:
    modules = _imported("--help")
    assert "shiplane.cli.registry" in modules
    assert not _heavy(modules), _heavy(modules)
    assert not [m for m in modules if m.startswith("shiplane.cli.cmd_")]
    assert "pydantic" not in modules and "yaml" not in modules


def test_a_client_call_imports_only_the_client_side(tmp_path: Path) -> None:
    env = {"SHIPLANE_SERVER": "http://127.0.0.1:9", "SHIPLANE_TOKEN": "shp_x",
           "SHIPLANE_CONFIG": str(tmp_path / "none.yaml")}  # fmt: skip
    for args in (("release", "list"), ("status",), ("promotion", "list")):
        modules = _imported(*args, env=env)
        assert "shiplane.cli.client" in modules, args
        assert not _heavy(modules), (args, _heavy(modules))


# Runs the CLI and reports every module loaded, by `sys.modules` at exit (`-X importtime`
# misses modules loaded with importlib.import_module, as the lazy registry does).
_PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv = ["shiplane", *sys.argv[1:]]
from shiplane.cli.main import main
main()
"""


def _loaded(*args: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    line = [x for x in done.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return done.returncode, set(line.split()[1:])


@pytest.mark.parametrize(
    ("args", "code", "module"),
    [
        (("release", "list", "--help"), 0, "cmd_release"),
        (("release", "list"), 1, "cmd_release"),  # the call itself (no server: exit 1)
        (("release", "list", "--limit", "0"), 2, "cmd_release"),  # a usage error
        (("promotion", "approve", "--help"), 0, "cmd_promotion"),
        (("status", "-o", "json"), 1, "cmd_status"),
        (("audit", "list", "--since", "2026-05-01"), 1, "cmd_audit"),
        (("token", "list", "--help"), 0, "cmd_token"),
    ],
)
def test_a_command_loads_only_its_own_module_and_no_pydantic(
    args: tuple[str, ...], code: int, module: str, tmp_path: Path
) -> None:
    env = {"SHIPLANE_SERVER": "http://127.0.0.1:9", "SHIPLANE_TOKEN": "shp_x",
           "SHIPLANE_CONFIG": str(tmp_path / "none.yaml")}  # fmt: skip
    returncode, modules = _loaded(*args, env=env)
    assert returncode == code, args
    commands = {m.rsplit(".", 1)[-1] for m in modules if m.startswith("shiplane.cli.cmd_")}
    # cmd_watch is shared by the commands that follow progress (promote --wait, watch).
    assert commands - {"cmd_watch"} == {module}, (args, commands)
    assert "shiplane.cli.coercion" in modules
    assert not _heavy(modules), (args, _heavy(modules))  # pydantic among them
