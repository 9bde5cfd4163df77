"""CLI start-up stays within budget: `--help` and a call import only what they use
(bench/cli.py measures the times beside kubectl)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))
# Never needed by the CLI's client commands: the server stack, config models, Rich, httpx.
HEAVY = (
    "httpx", "rich", "fastapi", "sqlalchemy", "shiplane.config", "shiplane.api",
    "shiplane.engine", "shiplane.store", "shiplane.domain.releases", "pydantic_settings",
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


def test_root_help_is_fast() -> None:
    best = min(_wall(SHIPLANE, "--help") for _ in range(5))
    assert best <= 0.150, f"shiplane --help took {best * 1000:.0f} ms at best"


def _wall(*argv: str) -> float:
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, timeout=60, check=True)
    return time.perf_counter() - started
