"""`shiplane validate`, `schema` and `init` through real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SHIPLANE = Path(sys.executable).with_name("shiplane")


def run(
    *args: str, cwd: Path | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SHIPLANE_HOME", None)
    if home is not None:
        env["SHIPLANE_HOME"] = str(home)
    return subprocess.run(
        [str(SHIPLANE), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


@pytest.fixture(scope="module", autouse=True)
def _cli_installed() -> None:
    assert SHIPLANE.exists(), f"{SHIPLANE} missing; install the project into the venv"


def test_validate_ok(tmp_path: Path) -> None:
    shutil.copy(HERE / "valid" / "design.yaml", tmp_path / "shiplane.yaml")
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: shiplane.yaml: 2 apps, 4 environments\n"
    # A directory means its shiplane.yaml.
    result = run("validate", str(tmp_path))
    assert result.stdout == f"ok: {tmp_path / 'shiplane.yaml'}: 2 apps, 4 environments\n"


def test_validate_reports_every_problem_on_stderr(tmp_path: Path) -> None:
    shutil.copy(HERE / "corpus" / "many_errors.yaml", tmp_path / "many_errors.yaml")
    result = run("validate", "many_errors.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    expected = (HERE / "corpus" / "many_errors.expected").read_text()
    assert result.stderr == expected
    assert "Traceback" not in result.stderr


def test_validate_missing_file(tmp_path: Path) -> None:
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "shiplane.yaml: file not found\n"


def test_usage_error_exits_2(tmp_path: Path) -> None:
    assert run("validate", "a.yaml", "b.yaml", cwd=tmp_path).returncode == 2


def test_schema_prints_json_schema() -> None:
    result = run("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "environments" in schema["properties"]


def test_init_then_validate(tmp_path: Path) -> None:
    result = run("init", "demo", cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    demo = tmp_path / "demo"
    assert (demo / ".git").is_dir()
    assert (demo / "apps" / "api" / "kustomization.yaml").is_file()
    assert (demo / "envs" / "prod" / "web" / ".keep").is_file()
    assert f"{tmp_path}/home/clusters/prod/kubeconfig" in (demo / "shiplane.yaml").read_text()
    log = subprocess.run(
        ["git", "-C", str(demo), "log", "--format=%s"], capture_output=True, text=True, check=True
    )
    assert log.stdout == "shiplane init: scaffold project demo\n"
    result = run("validate", "demo/shiplane.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: demo/shiplane.yaml: 2 apps, 3 environments\n"


def test_init_defaults_to_current_directory(tmp_path: Path) -> None:
    target = tmp_path / "shop"
    target.mkdir()
    assert run("init", cwd=target).returncode == 0
    assert (target / "shiplane.yaml").is_file()
    assert "~/.cache/shiplane/clusters/dev/kubeconfig" in (target / "shiplane.yaml").read_text()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run("init", "demo", cwd=tmp_path).returncode == 0
    before = (tmp_path / "demo" / "shiplane.yaml").read_text()
    result = run("init", "demo", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: demo/shiplane.yaml already exists; not overwriting it\n"
    assert (tmp_path / "demo" / "shiplane.yaml").read_text() == before
