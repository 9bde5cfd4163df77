"""The deploy e2e tests' server: `shiplane serve --repo` over a two-environment repo on a
real local cluster, and a helper that runs the CLI against it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git, project_yaml
from tests.support.serverproc import SHIPLANE, ServerProcess, running_server

OVERLAY = """\
resources: [../../../apps/api]
"""
PROD_OVERLAY = """\
resources: [../../../apps/api]
replicas: [{name: api, count: 3}]
"""


@pytest.fixture
def served(
    tmp_path: Path, cluster: ClusterState, kube: Client
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    namespaces = {"dev": make_namespace(kube, "dev"), "prod": make_namespace(kube, "prod")}
    config = project_yaml(
        {"local": cluster.kubeconfig},
        {"dev": ("local", namespaces["dev"]), "prod": ("local", namespaces["prod"])},
    )
    bare, work = build_repo(tmp_path, config)
    for env, overlay in (("dev", OVERLAY), ("prod", PROD_OVERLAY)):
        (work / f"envs/{env}/api").mkdir(parents=True)
        (work / f"envs/{env}/api/kustomization.yaml").write_text(overlay)
        (work / f"envs/{env}/web").mkdir(parents=True)
        (work / f"envs/{env}/web/.keep").write_text("")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "environments")
    git(work, "push", "-q", "origin", "main")
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server:
        yield server, namespaces
    for ns in namespaces.values():
        kube.delete(Namespace, ns)


def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env.update(SHIPLANE_SERVER=server.url, SHIPLANE_TOKEN=server.admin_token, COLUMNS="200")
    return subprocess.run(
        [SHIPLANE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)
