"""A real server for the CLI tests, and a helper that runs `shiplane` as a subprocess
with its own config file in a temporary directory."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.serverproc import SHIPLANE, ServerProcess, running_server

Shiplane = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("cli-server")
    with running_server(workdir, f"sqlite:///{workdir / 'shiplane.db'}") as server:
        yield server


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    return tmp_path / "cli" / "config.yaml"


@pytest.fixture
def shiplane(cli_config: Path) -> Shiplane:
    """Run `shiplane ARGS...`; extra environment through `env=`, never the caller's
    SHIPLANE_SERVER / SHIPLANE_TOKEN."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
        base["SHIPLANE_CONFIG"] = str(cli_config)
        base["COLUMNS"] = "200"
        return subprocess.run(
            [SHIPLANE, *args],
            capture_output=True,
            text=True,
            env={**base, **(env or {})},
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def logged_in(shiplane: Shiplane, cli_server: ServerProcess) -> Shiplane:
    result = shiplane("login", cli_server.url, "--token", cli_server.admin_token)
    assert result.returncode == 0, result.stderr
    return shiplane
