"""Sync, status, diff and history through the CLI against `shiplane serve --repo`."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from tests.e2e.deploy.conftest import as_json, cli
from tests.support.gitops_repo import build_repo, project_yaml
from tests.support.serverproc import ServerProcess, running_server

pytestmark = pytest.mark.cluster


def test_sync_status_diff_and_history(served: tuple[ServerProcess, dict[str, str]], kube: Client):
    server, namespaces = served
    synced = as_json(cli(server, "sync", "dev", "-o", "json"))
    assert synced["status"] == "succeeded"
    assert set(synced["outcome"]["apps"]) == {"web", "api"}  # pay has no envs/dev/pay/
    assert as_json(cli(server, "sync", "prod", "-o", "json"))["status"] == "succeeded"

    matrix = as_json(cli(server, "status", "-o", "json"))
    cells = {(c["app"], c["environment"]): c for c in matrix["cells"]}
    assert cells[("web", "dev")]["health"] == "Healthy"
    assert cells[("api", "prod")]["health"] == "Healthy"
    table = cli(server, "status")
    assert table.returncode == 0 and "Healthy" in table.stdout

    clean = cli(server, "diff", "dev", "web", "--exit-code")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 of 3 objects would change" in clean.stdout

    kube.patch(
        Deployment,
        "web",
        {"spec": {"replicas": 7}},
        namespace=namespaces["dev"],
        field_manager="kubectl-edit",
    )
    drifted = cli(server, "diff", "dev", "web", "--exit-code")
    assert drifted.returncode == 1
    assert "# update Deployment/" in drifted.stdout
    assert "-  replicas: 7" in drifted.stdout and "+  replicas: 2" in drifted.stdout

    between = cli(server, "diff", "--envs", "dev", "prod")
    assert between.returncode == 0, between.stderr
    assert "== api: 1 of 1 objects differ" in between.stdout
    assert "-  replicas: 1" in between.stdout and "+  replicas: 3" in between.stdout
    assert "== web: 0 of 3 objects differ" in between.stdout

    history = as_json(cli(server, "history", "dev", "-o", "json"))
    kinds = {(i["app"], i["kind"], i["status"]) for i in history["items"]}
    assert kinds == {("web", "sync", "succeeded"), ("api", "sync", "succeeded")}
    assert [s["name"] for s in history["items"][0]["steps"]] == [
        "render",
        "dry-run",
        "apply",
        "prune",
        "health",
    ]

    bad = cli(server, "sync", "nope")
    assert bad.returncode == 1 and "environment 'nope' is not defined" in bad.stderr
    usage = cli(server, "diff", "dev")
    assert usage.returncode == 2


def test_readyz_names_an_unreachable_cluster(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = tmp_path / "gone.kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        f"clusters: [{{name: gone, cluster: {{server: 'https://127.0.0.1:{port}', "
        "insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: u}}]\n"
    )
    config = project_yaml({"gone": kubeconfig}, {"dev": ("gone", "dev")})
    bare, _work = build_repo(tmp_path, config)
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        extra_args=["--repo", str(bare)],
        ready=False,
    ) as server:
        import httpx

        answer = httpx.get(server.url + "/readyz", timeout=30)
    assert answer.status_code == 503
    assert "clusters not reachable: gone" in answer.json()["detail"]
