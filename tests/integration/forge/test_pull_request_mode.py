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
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from shiplane.localcluster.cluster import ClusterState
from tests.integration.forge.pull_requests import (
    gitops_repo,
    merge,
    project,
    promote,
    promotion,
    pulls,
    waiting_pull,
)
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi
from tests.support.serverproc import running_server
from tests.support.wait import wait_for

pytestmark = [pytest.mark.forge, pytest.mark.cluster]

SECRET_ENV = "SHIPLANE_TEST_GITEA_HOOK_SECRET"
# Far beyond the test's deadlines once a pull request is open: after the restarts only
# Gitea's pull_request webhook can make the promotion look at it in time.
POLL = "10m"
PROD = f"gitops: {{mode: pull-request, pollInterval: {POLL}}}"
RECEIVERS = f"""\
    receivers:
      gitea: {{type: gitea, secretEnv: {SECRET_ENV}}}
    """


def test_pull_request_promotions_against_gitea(
    gitea: GiteaServer,
    forge: GiteaApi,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = gitops_repo(
        forge,
        tmp_path,
        monkeypatch,
        lambda repo: project(cluster.kubeconfig, namespace, gitea.url, repo, PROD, RECEIVERS),
    )
    repo, owner, reviewer, remote, token = (
        site.repo,
        site.owner,
        site.reviewer,
        site.remote,
        site.token,
    )
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
