"""The chart's RBAC is enough for Shiplane, and no more: `helm install` in a local
cluster, a token for the chart's ServiceAccount (TokenRequest), and a real `shiplane
serve` that reaches the cluster only with that token syncs an environment in a managed
namespace (render, dry-run, apply, prune, health), and is refused in a namespace the
chart grants nothing in."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

from shiplane.localcluster.cluster import ClusterState, kubectl_dir
from tests.integration.chart.chart import CHART, Helm
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git, project_yaml
from tests.support.serverproc import SHIPLANE, ServerProcess, running_server

pytestmark = pytest.mark.cluster


def service_account_kubeconfig(
    cluster: ClusterState, namespace: str, account: str, path: Path
) -> Path:
    """A kubeconfig that authenticates only as the ServiceAccount: a TokenRequest token
    (as the kubelet projects into a pod) and the cluster's CA and address."""
    token = subprocess.run(
        [
            str(kubectl_dir() / "kubectl"),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "-n",
            namespace,
            "create",
            "token",
            account,
            "--duration=1h",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "home", "cluster": server}],
                "users": [{"name": account, "user": {"token": token}}],
                "contexts": [{"name": "home", "context": {"cluster": "home", "user": account}}],
                "current-context": "home",
            }
        )
    )
    return path


def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env.update(SHIPLANE_SERVER=server.url, SHIPLANE_TOKEN=server.admin_token, COLUMNS="200")
    return subprocess.run(
        [SHIPLANE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def environments(kube: Client) -> Iterator[dict[str, str]]:
    names = {"dev": make_namespace(kube, "dev"), "outside": make_namespace(kube, "out")}
    yield names
    for name in names.values():
        kube.delete(Namespace, name)


def test_the_charts_service_account_can_deploy_where_granted_only(
    cluster: ClusterState,
    kube: Client,
    helm_home: Path,
    namespace: str,
    environments: dict[str, str],
    tmp_path: Path,
) -> None:
    helm = Helm(helm_home, cluster.kubeconfig)
    helm.run(
        "install",
        "home",
        str(CHART),
        "-n",
        namespace,
        "--set",
        f"rbac.namespaces={{{environments['dev']}}}",
    ).ok()
    kubeconfig = service_account_kubeconfig(
        cluster, namespace, "home-shiplane", tmp_path / "service-account.kubeconfig"
    )
    config = project_yaml(
        {"home": kubeconfig},
        {"dev": ("home", environments["dev"]), "outside": ("home", environments["outside"])},
    )
    # Credentials limited to namespaces: Shiplane watches those for drift instead of
    # the whole cluster (a cluster-wide list is what the Roles do not grant).
    limited = f"home: {{kubeconfig: {kubeconfig}, namespaces: [{environments['dev']}]}}"
    config = config.replace(f"home: {{kubeconfig: {kubeconfig}}}", limited)
    assert limited in config
    bare, work = build_repo(tmp_path, config)
    for env in ("dev", "outside"):
        (work / f"envs/{env}/web").mkdir(parents=True)
        (work / f"envs/{env}/web/.keep").write_text("")
        (work / f"envs/{env}/api").mkdir(parents=True)
        (work / f"envs/{env}/api/kustomization.yaml").write_text("resources: [../../../apps/api]\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "environments")
    git(work, "push", "-q", "origin", "main")

    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server:
        synced = cli(server, "sync", "dev", "-o", "json")
        assert synced.returncode == 0, synced.stderr + synced.stdout
        outcome: dict[str, Any] = json.loads(synced.stdout)
        assert outcome["status"] == "succeeded"
        assert set(outcome["outcome"]["apps"]) == {"web", "api"}
        web = kube.get(Deployment, "web", namespace=environments["dev"])
        assert web.metadata is not None and web.metadata.labels is not None

        refused = cli(server, "sync", "outside", "-o", "json")
        text = (refused.stdout + refused.stderr).lower()
        assert refused.returncode != 0 or json.loads(refused.stdout)["status"] != "succeeded"
        assert "forbidden" in text or "permission" in text, text
        assert list(kube.list(Deployment, namespace=environments["outside"])) == []
