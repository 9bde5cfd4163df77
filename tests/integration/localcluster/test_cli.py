"""`shiplane localcluster` through its command line, as a user runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shiplane.localcluster import procs
from shiplane.localcluster.components import COMPONENTS, FLUX_VERSION, GATEWAY_API_VERSION
from tests.support.flux import FluxBinaries

pytestmark = pytest.mark.cluster

SHIPLANE = str(Path(sys.executable).parent / "shiplane")


def run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPLANE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def home_env(tmp_path: Path, cluster_binaries: None) -> dict[str, str]:
    return {**os.environ, "SHIPLANE_HOME": str(tmp_path / "home")}


def processes_under(directory: Path) -> list[int]:
    """PIDs whose command line mentions `directory` (what a cluster would have started)."""
    found = []
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and str(directory) in procs.cmdline(pid) and procs.is_alive(pid):
            found.append(pid)
    return found


def test_up_env_kubectl_list_down(home_env: dict[str, str], tmp_path: Path):
    up = run(["localcluster", "up", "cli-a", "--nodes", "2"], home_env)
    assert up.returncode == 0, up.stderr
    cluster_dir = tmp_path / "home" / "clusters" / "cli-a"
    try:
        assert "ready in" in up.stderr
        kubeconfig = run(["localcluster", "kubeconfig", "cli-a"], home_env).stdout.strip()
        assert kubeconfig == str(cluster_dir / "kubeconfig")
        assert oct(Path(kubeconfig).stat().st_mode & 0o777) == "0o600"

        exports = run(["localcluster", "env", "cli-a"], home_env).stdout
        shell = f"{exports}\nkubectl get nodes --no-headers"
        nodes = subprocess.run(
            ["bash", "-c", shell],
            env=home_env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        lines = [line.split() for line in nodes.strip().splitlines()]
        assert len(lines) == 2 and all(parts[1] == "Ready" for parts in lines), nodes

        listing = json.loads(run(["localcluster", "list", "-o", "json"], home_env).stdout)
        assert [(c["name"], c["status"], c["nodes"]) for c in listing] == [("cli-a", "running", 2)]
        # `up` of a running cluster is idempotent: same server, no second set of processes;
        # it only installs the add-ons asked for.
        again = run(["localcluster", "up", "cli-a", "--with", "gateway-api"], home_env)
        assert again.returncode == 0 and "already running" in again.stderr
        assert "add-on gateway-api ready" in again.stderr, again.stderr
        assert len(processes_under(cluster_dir)) == 5
        routes = run(["localcluster", "kubectl", "cli-a", "get", "httproutes", "-A"], home_env)
        assert routes.returncode == 0 and "No resources found" in routes.stderr, routes.stderr
    finally:
        down = run(["localcluster", "down", "cli-a"], home_env)
    assert down.returncode == 0, down.stderr
    assert not cluster_dir.exists()
    assert processes_under(cluster_dir) == []
    assert json.loads(run(["localcluster", "list", "-o", "json"], home_env).stdout) == []


def test_up_on_a_port_conflict_fails_clearly_and_leaves_no_process(
    home_env: dict[str, str], tmp_path: Path
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["localcluster", "up", "clash", "--apiserver-port", str(port)], home_env)
    assert result.returncode == 1
    assert "kube-apiserver exited during start-up" in result.stderr
    assert "address already in use" in result.stderr  # the tail of the component's log
    assert processes_under(tmp_path / "home" / "clusters" / "clash") == []


def test_up_with_a_missing_binary_fails_clearly_and_starts_nothing(tmp_path: Path):
    env = {
        **os.environ,
        "SHIPLANE_HOME": str(tmp_path / "home"),
        "SHIPLANE_BIN_DIR": str(tmp_path / "empty-bin"),
    }
    result = run(["localcluster", "up", "nobin"], env)
    assert result.returncode == 1
    assert "missing control-plane binaries" in result.stderr
    assert "shiplane localcluster build" in result.stderr
    assert processes_under(tmp_path / "home") == []


def test_invalid_cluster_name_is_rejected(home_env: dict[str, str]):
    result = run(["localcluster", "up", "Bad_Name"], home_env)
    assert result.returncode == 1
    assert "invalid cluster name 'Bad_Name'" in result.stderr


def test_build_is_idempotent_when_cached(home_env: dict[str, str]):
    result = run(["localcluster", "build"], home_env)
    assert result.returncode == 0, result.stderr
    assert "everything cached" in result.stderr
    assert result.stderr.count(": cached") == len(COMPONENTS)
    assert f"gateway-api {GATEWAY_API_VERSION}: cached" in result.stderr


def test_cached_build_needs_no_go(cluster_binaries: None):
    # Offline once cached: no Go command runs, so nothing can reach the module proxy.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    result = run(["localcluster", "build"], env)
    assert result.returncode == 0, result.stderr
    assert "everything cached" in result.stderr


def test_build_with_an_unknown_optional_component_fails_before_building(tmp_path: Path):
    env = {**os.environ, "SHIPLANE_BIN_DIR": str(tmp_path / "bin")}
    result = run(["localcluster", "build", "--with", "kwok"], env)
    assert result.returncode == 1
    assert "'kwok' is not an optional component; optional: flux, gitea" in result.stderr
    assert not (tmp_path / "bin").exists()


@pytest.mark.forge
def test_build_with_gitea_is_a_no_op_once_cached(home_env: dict[str, str], gitea_binary: Path):
    result = run(["localcluster", "build", "--with", "gitea"], home_env)
    assert result.returncode == 0, result.stderr
    assert "gitea v1.27.3: cached" in result.stderr
    assert result.stderr.count(": cached") == len(COMPONENTS) + 1
    assert str(gitea_binary.parent) in result.stdout.splitlines()


@pytest.mark.flux
def test_build_with_flux_is_both_controllers_and_a_no_op_once_cached(
    home_env: dict[str, str], flux_binaries: FluxBinaries
):
    result = run(["localcluster", "build", "--with", "flux"], home_env)
    assert result.returncode == 0, result.stderr
    for name in ("flux-source-controller", "flux-kustomize-controller"):
        assert f"{name} {FLUX_VERSION}: cached" in result.stderr
    assert result.stderr.count(": cached") == len(COMPONENTS) + 2
    listed = result.stdout.splitlines()
    assert str(flux_binaries.source_controller.parent) in listed
    assert str(flux_binaries.kustomize_controller.parent) in listed
    for crds in flux_binaries.crd_dirs:
        assert sorted(crds.glob("*.yaml")), f"no CRDs in {crds}"


@pytest.mark.argocd
def test_build_with_argocd_is_a_no_op_once_cached(home_env: dict[str, str], argocd_binary: Path):
    result = run(["localcluster", "build", "--with", "argocd"], home_env)
    assert result.returncode == 0, result.stderr
    assert "argocd v3.5.8: cached" in result.stderr
    assert result.stderr.count(": cached") == len(COMPONENTS) + 1
    assert str(argocd_binary.parent) in result.stdout.splitlines()
    crds = sorted(p.name for p in (argocd_binary.parent / "crds").glob("*.yaml"))
    assert crds == ["application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"]
    assert (argocd_binary.parent / "scripts" / "git-verify-wrapper.sh").is_file()
    version = subprocess.run(
        [str(argocd_binary), "version", "--client", "--short"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert version.stdout.startswith("argocd: v3.5.8"), version.stdout


def test_build_without_go_fails_with_a_clear_message(tmp_path: Path):
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "SHIPLANE_BIN_DIR": str(tmp_path / "bin"),
    }
    result = run(["localcluster", "build"], env)
    assert result.returncode == 1
    assert "the Go toolchain is not on PATH" in result.stderr
    assert not (tmp_path / "bin" / "kubernetes-v1.36.3").exists()
