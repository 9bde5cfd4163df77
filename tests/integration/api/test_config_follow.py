"""`shiplane serve --repo` follows shiplane.yaml at the branch head without a restart, on a
real server, a real GitOps repository and a real local cluster:

- a valid change takes effect (a new environment appears in the matrix and takes a
  promotion), with a `config.applied` event in the audit trail and the event stream;
- a broken change is refused: the last good version stays in force, and the errors show
  in `GET /api/v1/config`, `shiplane status` (table and `-o json`), `/readyz` (still 200)
  and the events;
- a fix is applied again.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git
from tests.support.serverproc import SHIPLANE, ServerProcess, running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster

IMAGE = "registry.example/shop/web:1.0.0"


def project(kubeconfig: Path, namespaces: dict[str, str], *, qa_after: str = "") -> str:
    envs = "\n".join(
        f"  {env}: {{cluster: local, namespace: {ns}{qa_after if env == 'qa' else ''}}}"
        for env, ns in namespaces.items()
    )
    return (
        textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
        """)
        + envs
        + textwrap.dedent("""
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {path: apps/web, render: plain}
        """)
    )


class Repo:
    def __init__(self, work: Path) -> None:
        self.work = work

    def push(self, files: dict[str, str], message: str) -> str:
        git(self.work, "pull", "-q", "--rebase", "origin", "main")
        for rel, content in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")


@pytest.fixture
def namespaces(kube: Client) -> Iterator[dict[str, str]]:
    made = {"dev": make_namespace(kube, "dev"), "qa": make_namespace(kube, "qa")}
    yield made
    for ns in made.values():
        kube.delete(Namespace, ns)


def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env.update(SHIPLANE_SERVER=server.url, SHIPLANE_TOKEN=server.admin_token, COLUMNS="200")
    return subprocess.run(
        [SHIPLANE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def config_of(api: httpx.Client) -> dict[str, Any]:
    r = api.get("/api/v1/config")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def audit_events(api: httpx.Client, action: str) -> list[dict[str, Any]]:
    r = api.get("/api/v1/audit", params={"action": action, "limit": 50})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def streamed_config_events(server: ServerProcess, count: int) -> list[dict[str, Any]]:
    """The first `count` `config.*` events of the event stream, from the beginning."""
    events: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    params = {"after": 0, "action": "config."}
    with httpx.stream(
        "GET", server.url + "/api/v1/events", headers=headers, params=params, timeout=30.0
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                if len(events) == count:
                    return events
    raise AssertionError(f"the stream ended after {events}")


def test_shiplane_yaml_is_followed_at_the_branch_head(
    tmp_path: Path, cluster: ClusterState, namespaces: dict[str, str]
) -> None:
    dev_only = {"dev": namespaces["dev"]}
    bare, work = build_repo(tmp_path, project(cluster.kubeconfig, dev_only))
    repo = Repo(work)
    first = git(work, "rev-parse", "HEAD")
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--git-poll", "0.5", "--health-timeout", "60"],
    ) as server, server.admin() as api:  # fmt: skip
        state = config_of(api)
        assert (state["source"], state["following"], state["commit"]) == ("git", True, first)
        r = api.post("/api/v1/releases", json={"artifacts": {"web": IMAGE}, "alias": "1.0.0"})
        assert r.status_code == 201, r.text
        release = r.json()["id"]
        refused = api.post("/api/v1/promotions", json={"release": release, "environment": "qa"})
        assert refused.status_code in (404, 422), refused.text  # no such environment yet

        # 1. A valid change: a new environment, in force without a restart.
        added = repo.push(
            {
                "shiplane.yaml": project(cluster.kubeconfig, namespaces),
                "envs/qa/web/.keep": "",
            },
            "add qa",
        )
        wait_for(lambda: config_of(api)["commit"] == added, timeout=30, what="qa applied")
        assert api.get("/api/v1/matrix").json()["environments"] == ["dev", "qa"]
        [applied] = audit_events(api, "config.applied")
        assert applied["subject"] == added
        assert applied["details"]["previous"] == first
        r = api.post("/api/v1/promotions", json={"release": release, "environment": "qa"})
        assert r.status_code == 201, r.text
        promotion = r.json()["id"]
        wait_for(
            lambda: (
                api.get(f"/api/v1/promotions/{promotion}").json()["promotion"]["state"]
                == "Succeeded"
            ),
            timeout=120,
            what="the promotion into the new environment",
        )
        succeeded = [
            e for e in audit_events(api, "promotion.succeeded") if e["subject"] == promotion
        ]
        assert succeeded[0]["details"]["config"] == added  # the version the step ran on

        # 2. A broken change: refused, the last good version stays, the errors show.
        broken = project(cluster.kubeconfig, namespaces, qa_after=", after: [dve]")
        bad = repo.push({"shiplane.yaml": broken}, "typo")
        wait_for(
            lambda: (config_of(api).get("rejected") or {}).get("commit") == bad,
            timeout=30,
            what="the broken version refused",
        )
        state = config_of(api)
        assert state["commit"] == added
        assert state["rejected"]["count"] == 1
        assert "dve" in state["rejected"]["errors"][0]
        assert state["rejected"]["errors"][0].startswith("shiplane.yaml:")
        assert api.get("/api/v1/matrix").json()["environments"] == ["dev", "qa"]

        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 200  # a refused version does not take the server out
        assert ready.json()["config"] == {
            "commit": added,
            "rejected_commit": bad,
            "errors": 1,
            "locations": [
                state["rejected"]["errors"][0].split(": ")[0] + " environments.qa.after[0]"
            ],
        }

        status = cli(server, "status", "-o", "json")
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)["config"]
        assert (shown["commit"], shown["rejected"]["commit"]) == (added, bad)
        table = cli(server, "status")
        assert f"CONFIG REJECTED shiplane.yaml at {bad[:12]} (1 error)" in table.stdout
        assert "dve" in table.stdout

        [rejected] = audit_events(api, "config.rejected")
        assert rejected["subject"] == bad and "dve" in str(rejected["details"]["errors"])

        # 3. The fix: applied again, nothing refused any more.
        fixed = repo.push({"shiplane.yaml": project(cluster.kubeconfig, namespaces)}, "fix")
        wait_for(lambda: config_of(api)["commit"] == fixed, timeout=30, what="the fix applied")
        assert config_of(api)["rejected"] is None
        assert "config" in httpx.get(server.url + "/readyz", timeout=10).json()
        assert "rejected_commit" not in httpx.get(server.url + "/readyz").json()["config"]

        streamed = streamed_config_events(server, 3)
        assert [(e["action"], e["subject"]) for e in streamed] == [
            ("config.applied", added),
            ("config.rejected", bad),
            ("config.applied", fixed),
        ]


def test_a_server_started_on_a_broken_head_runs_the_last_good_version(
    tmp_path: Path, cluster: ClusterState, namespaces: dict[str, str]
) -> None:
    bare, work = build_repo(tmp_path, project(cluster.kubeconfig, namespaces))
    good = git(work, "rev-parse", "HEAD")
    broken = project(cluster.kubeconfig, namespaces, qa_after=", after: [dve]")
    bad = Repo(work).push({"shiplane.yaml": broken}, "typo")
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--git-poll", "0.5"],
    ) as server, server.admin() as api:  # fmt: skip
        wait_for(
            lambda: (config_of(api).get("rejected") or {}).get("commit") == bad,
            timeout=30,
            what="the head refused",
        )
        assert config_of(api)["commit"] == good
        assert api.get("/api/v1/matrix").json()["environments"] == ["dev", "qa"]
        assert f"starting with the last valid version ({good[:12]})" in server.logs()
        [rejected] = audit_events(api, "config.rejected")
        assert rejected["subject"] == bad
    # Not following the branch (--git-poll 0), a broken head stops the start as before.
    env = {**os.environ, "SHIPLANE_HOME": str(tmp_path / "home2")}
    env.pop("SHIPLANE_DATABASE_URL", None)
    argv = [SHIPLANE, "serve", "--listen", "127.0.0.1:0", "--repo", str(bare), "--git-poll", "0"]
    argv += ["--db", f"sqlite:///{tmp_path / 'shiplane2.db'}"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "environment 'dve'" in result.stderr
