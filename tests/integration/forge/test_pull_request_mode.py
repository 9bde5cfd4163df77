"""Pull-request mode against a real Gitea, a real `shiplane serve` and a real local
cluster: a promotion into prod opens one pull request and waits; another user merges it
through Gitea's API; the merge commit is synced and verified and carries a success
status. A second promotion's pull request is closed: that promotion ends aborted; a
third one aborted in Shiplane closes its pull request. A
server killed (-9) right after opening it, and again while waiting, resumes the wait
without opening a second pull request. The poll interval is 10 minutes: the merge and the
close are seen through Gitea's signed `pull_request` webhook.
"""

from __future__ import annotations

import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

from shiplane.localcluster.cluster import ClusterState
from tests.integration.forge.conftest import git
from tests.support.clusters import make_namespace
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi, GiteaRepo, GiteaUser, unique_name
from tests.support.gitops_repo import PLAIN_APP
from tests.support.serverproc import running_server
from tests.support.wait import wait_for

pytestmark = [pytest.mark.forge, pytest.mark.cluster]

TOKEN_ENV = "SHIPLANE_TEST_GITEA_TOKEN"
SECRET_ENV = "SHIPLANE_TEST_GITEA_HOOK_SECRET"
# Far beyond the test's deadlines once a pull request is open: after the restarts only
# Gitea's pull_request webhook can make the promotion look at it in time.
POLL = "10m"


def project(kubeconfig: Path, namespace: str, gitea: str, repo: GiteaRepo) -> str:
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          prod:
            cluster: local
            namespace: {namespace}
            gitops: {{mode: pull-request, pollInterval: {POLL}}}
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        forge:
          gitea: {{url: '{gitea}', repository: {repo.full_name}, tokenEnv: {TOKEN_ENV}}}
        receivers:
          gitea: {{type: gitea, secretEnv: {SECRET_ENV}}}
        """)


@pytest.fixture
def namespace(kube: Client) -> Iterator[str]:
    made = make_namespace(kube, "prod")
    yield made
    kube.delete(Namespace, made)


def promotion(api: httpx.Client, pid: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/promotions/{pid}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["promotion"]
    return found


def promote(api: httpx.Client, tag: str) -> str:
    image = f"registry.example/shop/web:{tag}"
    r = api.post("/api/v1/releases", json={"artifacts": {"web": image}, "alias": tag})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/promotions", json={"release": r.json()["id"], "environment": "prod"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def pulls(gitea: httpx.Client, repo: GiteaRepo, head: str) -> list[dict[str, Any]]:
    r = gitea.get(f"/repos/{repo.full_name}/pulls", params={"state": "all", "limit": 50})
    assert r.status_code == 200, r.text
    return [p for p in r.json() if p["head"]["ref"] == head]


def waiting_pull(api: httpx.Client, gitea: httpx.Client, repo: GiteaRepo, pid: str) -> int:
    """The number of the one pull request the promotion waits for (once it waits)."""
    wait_for(
        lambda: (promotion(api, pid)["data"].get("pull_request") or {}).get("phase") == "open",
        timeout=90,
        what=f"{pid} waiting for its pull request",
    )
    [pr] = pulls(gitea, repo, f"shiplane/{pid}")
    assert pr["state"] == "open" and pr["base"]["ref"] == "main"
    return int(pr["number"])


def merge(reviewer: httpx.Client, repo: GiteaRepo, number: int) -> None:
    def merged() -> bool:
        # Gitea checks mergeability in the background: 405 until it has.
        r = reviewer.post(f"/repos/{repo.full_name}/pulls/{number}/merge", json={"Do": "merge"})
        return r.status_code in (200, 204)

    wait_for(merged, timeout=30, what=f"pull request #{number} merged")


def test_pull_request_promotions_against_gitea(
    gitea: GiteaServer,
    forge: GiteaApi,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = forge.create_user()
    reviewer: GiteaUser = forge.create_user()
    repo = forge.create_repo(owner, unique_name("gitops"))
    forge.add_collaborator(repo, reviewer)
    token = forge.create_token(owner, ["write:repository"])
    remote = repo.authenticated_url(owner.name, token)
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", remote, str(work))
    (work / "shiplane.yaml").write_text(project(cluster.kubeconfig, namespace, gitea.url, repo))
    (work / "apps/web").mkdir(parents=True)
    (work / "apps/web/app.yaml").write_text(PLAIN_APP)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "shop")
    git(work, "push", "-q", "origin", "main")
    monkeypatch.setenv(TOKEN_ENV, token)
    secret = secrets.token_urlsafe(24)
    monkeypatch.setenv(SECRET_ENV, secret)

    database = f"sqlite:///{tmp_path / 'shiplane.db'}"
    args = ["--repo", remote, "--health-timeout", "60"]
    with forge.client(owner) as as_owner, forge.client(reviewer) as as_reviewer:
        # 1. Killed (-9) right after Gitea opened the pull request (not recorded yet),
        # then again while waiting for the merge: each server resumes without a second.
        monkeypatch.setenv("SHIPLANE_FAULT_POINT", "pull_request.opened")
        with running_server(tmp_path / "s1", database, extra_args=args) as server:
            admin = server.admin_token  # the next servers keep the same bootstrap token
            with server.admin() as api:
                first = promote(api, "1.0.0")
            wait_for(lambda: server.process.poll() is not None, timeout=90, what="kill -9")
        [opened] = pulls(as_owner, repo, f"shiplane/{first}")
        assert opened["state"] == "open"
        monkeypatch.setenv("SHIPLANE_FAULT_POINT", "pull_request.waiting")
        with running_server(tmp_path / "s2", database, extra_args=args, admin_token=admin) as s2:
            wait_for(lambda: s2.process.poll() is not None, timeout=90, what="kill -9")
        monkeypatch.delenv("SHIPLANE_FAULT_POINT")
        assert [p["number"] for p in pulls(as_owner, repo, f"shiplane/{first}")] == [
            opened["number"]
        ]

        with (
            running_server(tmp_path / "s3", database, extra_args=args, admin_token=admin) as server,
            server.admin() as api,
        ):
            forge.create_webhook(
                repo, f"{server.url}/api/v1/hooks/gitea", secret=secret, events=["pull_request"]
            )
            number = waiting_pull(api, as_owner, repo, first)
            assert number == opened["number"]  # one pull request, not two
            waiting = promotion(api, first)
            assert waiting["state"] == "Deploying"
            assert f"pull request #{number}" in waiting["reason"]
            body = as_owner.get(f"/repos/{repo.full_name}/pulls/{number}").json()["body"]
            assert "registry.example/shop/web:1.0.0" in body and first in body
            [manifests] = [line for line in body.splitlines() if line.startswith("- web: ")]
            assert (
                manifests
                == "- web: ConfigMap/web-config, Deployment/web, Service/web (3 objects, 3 new)"
            )
            assert not list(kube.list(Deployment, namespace=namespace))  # not deployed

            # 2. Another user merges it: deployed from the merge commit, verified.
            r = as_reviewer.post(
                f"/repos/{repo.full_name}/pulls/{number}/reviews",
                json={"event": "APPROVED", "body": "ship it"},
            )
            assert r.status_code == 200, r.text
            merge(as_reviewer, repo, number)
            wait_for(
                lambda: promotion(api, first)["state"] in ("Succeeded", "Failed"),
                timeout=120,
                what=f"{first} finished",
            )
            done = promotion(api, first)
            assert done["state"] == "Succeeded", done["reason"]
            merge_commit = as_owner.get(f"/repos/{repo.full_name}/pulls/{number}").json()[
                "merge_commit_sha"
            ]
            assert done["git_commit"] == merge_commit
            assert done["data"]["pull_request"]["approved_by"] == [reviewer.name]
            web = kube.get(Deployment, "web", namespace=namespace)
            assert web.spec.template.spec.containers[0].image.endswith("web:1.0.0")

            def success() -> dict[str, Any] | None:
                r = as_owner.get(f"/repos/{repo.full_name}/commits/{merge_commit}/status")
                for status in r.json().get("statuses") or []:
                    if status["context"] == "shiplane/verification":
                        return dict(status)
                return None

            # Posted by the notification worker after the outcome is recorded.
            wait_for(
                lambda: (success() or {}).get("status") == "success",
                timeout=30,
                what="the success status",
            )

            # 3. A second promotion's pull request is closed without merge: aborted.
            second = promote(api, "2.0.0")
            number = waiting_pull(api, as_owner, repo, second)
            r = as_reviewer.patch(
                f"/repos/{repo.full_name}/pulls/{number}", json={"state": "closed"}
            )
            assert r.status_code == 201, r.text
            wait_for(
                lambda: promotion(api, second)["state"] == "Aborted",
                timeout=60,
                what=f"{second} aborted",
            )
            assert promotion(api, second)["reason"].startswith(
                f"pull request #{number} was closed without merge"
            )
            web = kube.get(Deployment, "web", namespace=namespace)
            assert web.spec.template.spec.containers[0].image.endswith("web:1.0.0")
            # 4. A third one aborted in Shiplane while it waits: its pull request closes.
            third = promote(api, "3.0.0")
            number = waiting_pull(api, as_owner, repo, third)
            r = api.post(f"/api/v1/promotions/{third}/abort", json={"reason": "not today"})
            assert r.status_code == 200, r.text
            assert promotion(api, third)["state"] == "Aborted"
            # Closing it was recorded with the abort; the notification worker does it.
            wait_for(
                lambda: (
                    as_owner.get(f"/repos/{repo.full_name}/pulls/{number}").json()["state"]
                    == "closed"
                ),
                timeout=30,
                what=f"pull request #{number} closed",
            )

            woke = api.get("/api/v1/audit", params={"action": "hook.received", "limit": 50})
            assert first in [p for e in woke.json()["items"] for p in e["details"]["woke"]]
        assert token not in server.logs() and secret not in server.logs()
