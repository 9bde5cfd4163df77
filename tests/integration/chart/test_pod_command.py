"""The chart's pod, run as a process: the command, arguments and environment the
Deployment renders (Secrets resolved from the ones the chart renders, the pod's paths
moved into a temporary directory, the listen address on loopback) start a real
`shiplane serve` that becomes ready, takes the bootstrap token, and, with two replicas
on PostgreSQL, shares its work as two live replicas. It proves the wiring (flag names,
variable names, Secret keys) that a local cluster, which runs no containers, cannot."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from shiplane.localcluster.cluster import ClusterState
from tests.integration.chart.chart import Helm, by_kind, container, one
from tests.support.gitops_repo import build_repo, project_yaml
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster

SHIPLANE = str(Path(sys.executable).with_name("shiplane"))
TOKEN = "chart-bootstrap-token-0123456789abcdef"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
# The pod's paths, and where the process finds them here.
POD_PATHS = ("/var/lib/shiplane", "/tmp", "/etc/shiplane")
PATH_VARIABLES = {"HOME", "SHIPLANE_HOME"}


def pod_process(objects: list[dict[str, Any]], root: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the rendered container, runnable on this machine."""
    c = container(objects)
    secrets = {s["metadata"]["name"]: s["stringData"] for s in by_kind(objects, "Secret")}

    def local(text: str) -> str:
        """A pod path (alone, or as a `--flag=` value) moved under `root`."""
        flag, sep, value = text.rpartition("=") if text.startswith("--") else ("", "", text)
        for path in POD_PATHS:
            if value == path or value.startswith(path + "/"):
                value = str(root / path.strip("/").replace("/", "-")) + value[len(path) :]
                break
        return flag + sep + value

    assert c["command"] == ["shiplane"]
    argv = [SHIPLANE]
    for arg in c["args"]:
        argv.append("--listen=127.0.0.1:0" if arg.startswith("--listen=") else local(arg))
    env = {"PATH": os.environ["PATH"]}
    for name in ("SHIPLANE_HELM", "SHIPLANE_KUSTOMIZE"):
        env[name] = os.environ[name]
    for var in c["env"]:
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        value = secrets[ref["name"]][ref["key"]] if ref else var["value"]
        # The variables that hold pod paths; others (the repository) are kept as they are.
        env[var["name"]] = local(value) if var["name"] in PATH_VARIABLES else value
    # No pod here: the in-cluster switch would look for a service account that is absent.
    env.pop("SHIPLANE_IN_CLUSTER")
    for path in POD_PATHS:
        (root / path.strip("/").replace("/", "-")).mkdir(parents=True, exist_ok=True)
    config_maps = by_kind(objects, "ConfigMap")
    if config_maps:
        (root / "etc-shiplane" / "config").mkdir()
        (root / "etc-shiplane" / "config" / "shiplane.yaml").write_text(
            config_maps[0]["data"]["shiplane.yaml"]
        )
    return argv, env


@contextmanager
def running(argv: list[str], env: dict[str, str], logs: Path) -> Iterator[str]:
    """The process started, its URL once /readyz answers 200; stopped by its PID."""
    out = logs.with_suffix(".out")
    with out.open("wb") as stdout, logs.with_suffix(".err").open("wb") as stderr:
        process = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)
    try:

        def listening() -> str | None:
            if process.poll() is not None:
                return "exited"
            found = _LISTENING.search(out.read_text(errors="replace"))
            return found.group(1) if found else None

        url = wait_for(listening, timeout=60, what="the server's port")
        if url == "exited":
            text = out.read_text() + logs.with_suffix(".err").read_text()
            raise AssertionError(f"shiplane serve exited with {process.returncode}:\n{text}")
        wait_for(
            lambda: httpx.get(url + "/readyz", timeout=5).status_code == 200,
            timeout=60,
            what=f"{url}/readyz",
        )
        yield url
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=20)


def whoami(url: str) -> dict[str, Any]:
    answer = httpx.get(
        url + "/api/v1/whoami", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_default_pod_on_sqlite_follows_the_repository(
    cluster: ClusterState, helm: Helm, namespace: str, tmp_path: Path
) -> None:
    config = project_yaml({"home": cluster.kubeconfig}, {"dev": ("home", namespace)})
    bare, _work = build_repo(tmp_path, config)
    objects = helm.render(
        values={"gitops": {"repo": str(bare), "pollSeconds": 1}, "bootstrapToken": {"value": TOKEN}}
    )
    argv, env = pod_process(objects, tmp_path / "pod")
    with running(argv, env, tmp_path / "serve") as url:
        assert whoami(url)["role"] == "admin"
        ready = httpx.get(url + "/readyz", timeout=10).json()
        assert ready["status"] == "ready"
        assert ready["config"]["commit"]  # shiplane.yaml read from the repository head
    # SQLite in the data directory (the claim in a pod), with the git working copy.
    data = tmp_path / "pod" / "var-lib-shiplane"
    assert list(data.glob("*.db")) and (data / "git").is_dir()


@pytest.mark.postgres
def test_two_replicas_on_postgresql_from_the_configmap(
    cluster: ClusterState,
    helm: Helm,
    namespace: str,
    fresh_database_url: str,
    tmp_path: Path,
) -> None:
    config = project_yaml({"home": cluster.kubeconfig}, {"dev": ("home", namespace)})
    bare, _work = build_repo(tmp_path, config)
    objects = helm.render(
        values={
            "replicaCount": 2,
            "database": {"type": "postgresql", "postgresql": {"url": fresh_database_url}},
            "gitops": {"repo": str(bare)},
            "bootstrapToken": {"value": TOKEN},
            "config": {"shiplaneYaml": config},
        }
    )
    assert one(objects, "Deployment")["spec"]["replicas"] == 2
    with ExitStack() as stack:
        urls = []
        for n in range(2):  # two pods: the same command line, each its own directories
            argv, env = pod_process(objects, tmp_path / f"pod-{n}")
            assert env["SHIPLANE_DATABASE_URL"] == fresh_database_url
            urls.append(stack.enter_context(running(argv, env, tmp_path / f"serve-{n}")))
        assert whoami(urls[0])["token_id"] == whoami(urls[1])["token_id"]  # one database

        def live() -> list[str]:
            answer = httpx.get(
                urls[1] + "/api/v1/replicas",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            ).json()
            return [r["replica"] for r in answer["replicas"]]

        replicas = wait_for(
            lambda: live() if len(live()) == 2 else None, timeout=30, what="2 live replicas"
        )
        assert len(set(replicas)) == 2
