"""A promotion's actions and the approvals inbox against `shiplane serve --repo`: the
reason a button shows is the very refusal the request answers with; the inbox is per
person."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, project_yaml
from tests.support.serverproc import SHIPLANE, ServerProcess, running_server

pytestmark = pytest.mark.cluster


@pytest.fixture
def approving_server(
    tmp_path: Path, cluster: ClusterState, kube: Client
) -> Iterator[ServerProcess]:
    namespaces = {"dev": make_namespace(kube, "dev")}
    config = project_yaml(
        {"local": cluster.kubeconfig},
        {"dev": ("local", namespaces["dev"])},
        extra=", approvals: {required: 1, groups: [release-managers], expiry: 1h}",
    )
    bare, _work = build_repo(tmp_path, config)
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server:
        yield server
    kube.delete(Namespace, namespaces["dev"])


def _token(server: ServerProcess, name: str) -> str:
    with server.admin() as http:
        answer = http.post(
            "/api/v1/tokens",
            json={"name": name, "role": "approver", "groups": ["release-managers"]},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def _cli(server: ServerProcess, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env.update(SHIPLANE_SERVER=server.url, SHIPLANE_TOKEN=token, COLUMNS="200")
    return subprocess.run(
        [SHIPLANE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_actions_say_what_the_request_would_answer(approving_server: ServerProcess) -> None:
    server = approving_server
    alice, bob = _token(server, "alice"), _token(server, "bob")
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {alice}"}, timeout=30
    ) as as_alice:
        rel = as_alice.post(
            "/api/v1/releases", json={"artifacts": {"web": "registry.example/shop/web:1.0.0"}}
        )
        assert rel.status_code == 201, rel.text
        created = as_alice.post(
            "/api/v1/promotions", json={"release": rel.json()["id"], "environment": "dev"}
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        actions = as_alice.get(f"/api/v1/promotions/{pid}").json()["actions"]
        assert actions["approve"]["allowed"] is False
        refused = as_alice.post(f"/api/v1/promotions/{pid}/approve")
        assert refused.status_code == 403
        assert refused.json()["detail"] == actions["approve"]["reason"]
        assert "alice requested this promotion" in actions["approve"]["reason"]
        assert actions["reject"]["allowed"] is True
        assert as_alice.get("/api/v1/approvals/inbox").json() == {"items": []}

    shown = _cli(server, alice, "promotion", "show", pid)
    assert shown.returncode == 0, shown.stderr
    assert "You may: reject, abort" in shown.stdout
    assert "  not approve: alice requested this promotion" in shown.stdout

    # Bob sees it in his inbox, from the CLI too, and may approve it.
    listed = _cli(server, bob, "approvals", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [pid]
    table = _cli(server, bob, "approvals")
    assert "0/1" in table.stdout and "group release-managers" in table.stdout
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {bob}"}, timeout=30
    ) as as_bob:
        mine = as_bob.get(f"/api/v1/promotions/{pid}").json()["actions"]
        assert mine["approve"] == {"allowed": True, "reason": "", "choices": {}}
        assert as_bob.post(f"/api/v1/promotions/{pid}/approve").status_code == 200
        after = as_bob.get(f"/api/v1/promotions/{pid}").json()["actions"]["approve"]
        assert after["allowed"] is False
    assert (
        after["reason"].startswith("bob already approved")
        or "only a pending or waiting" in (after["reason"])
    )
    assert _cli(server, bob, "approvals", "-o", "json").stdout.strip() == "[]"
