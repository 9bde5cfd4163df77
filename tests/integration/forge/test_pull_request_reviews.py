"""Pull-request mode against a real Gitea, real `shiplane serve` and a real local
cluster: forge reviews as Shiplane's approval (`approvals.fromForge: count`), and a
canary that takes its steps after the merge.

Reviews: a second Gitea user approves the pull request through Gitea's review API; the
merge deploys, and the audit records the approval under the reviewer's Gitea name. A
pull request merged without an approving review is held: not synced (the cluster keeps
the old image), the reason says what is missing, the merge commit's status says
pending; Gitea takes no review of a merged pull request, so the way out here is to
abort, which marks the merge commit failed.

Canary: the second release's merge is not synced in one roll: the canary runs beside
the stable version, step by step, and only then does the merge commit reach it all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from shiplane.localcluster.cluster import ClusterState
from tests.integration.forge.pull_requests import (
    approve_on_gitea,
    gitops_repo,
    merge,
    project,
    promote,
    promotion,
    statuses,
    waiting_pull,
)
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi
from tests.support.serverproc import running_server
from tests.support.wait import wait_for

pytestmark = [pytest.mark.forge, pytest.mark.cluster]

GITOPS = "gitops: {mode: pull-request, pollInterval: 2s}"


def image(kube: Client, namespace: str, name: str = "web") -> str:
    found = kube.get(Deployment, name, namespace=namespace)
    return str(found.spec.template.spec.containers[0].image)  # type: ignore[union-attr]


def finished(api: httpx.Client, pid: str) -> dict[str, Any]:
    wait_for(
        lambda: promotion(api, pid)["state"] in ("Succeeded", "Failed", "Aborted"),
        timeout=180,
        what=f"{pid} finished",
    )
    return promotion(api, pid)


def test_forge_reviews_count_as_approval_and_a_merge_without_is_held(
    gitea: GiteaServer,
    forge: GiteaApi,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prod = f"{GITOPS}\napprovals: {{required: 1, fromForge: count}}"
    site = gitops_repo(
        forge,
        tmp_path,
        monkeypatch,
        lambda repo: project(cluster.kubeconfig, namespace, gitea.url, repo, prod),
    )
    repo, database = site.repo, f"sqlite:///{tmp_path / 'shiplane.db'}"
    args = ["--repo", site.remote, "--health-timeout", "60"]
    with (
        forge.client(site.owner) as as_owner,
        forge.client(site.reviewer) as as_reviewer,
        running_server(tmp_path / "s", database, extra_args=args) as server,
        server.admin() as api,
    ):
        # 1. Approved on Gitea by a second user, merged: deployed, the approval recorded.
        first = promote(api, "1.0.0")
        number = waiting_pull(api, as_owner, repo, first)
        gate = next(g for g in promotion(api, first)["data"]["gates"] if g["gate"] == "approval")
        assert gate["outcome"] == "pass" and "fromForge: count" in gate["reason"]
        r = approve_on_gitea(as_reviewer, repo, number)
        assert r.status_code == 200, r.text
        merge(as_owner, repo, number)
        done = finished(api, first)
        assert done["state"] == "Succeeded", done["reason"]
        assert done["data"]["pull_request"]["approval"]["outcome"] == "pass"
        assert image(kube, namespace).endswith("web:1.0.0")
        audit = api.get("/api/v1/audit", params={"action": "promotion.approve", "limit": 10})
        [approval] = [e for e in audit.json()["items"] if e["subject"] == first]
        assert approval["actor"] == site.reviewer.name
        assert approval["details"]["source"] == "forge"
        assert approval["details"]["pull_request"] == number

        # 2. Merged with no approving review: held, not synced, and says why.
        second = promote(api, "2.0.0")
        number = waiting_pull(api, as_owner, repo, second)
        commit = merge(as_owner, repo, number)
        wait_for(
            lambda: promotion(api, second)["data"]["pull_request"].get("phase") == "held",
            timeout=60,
            what=f"{second} held",
        )
        held = promotion(api, second)
        assert held["state"] == "Deploying"
        assert held["reason"].startswith(
            f"held, not synced: pull request #{number} has 0 of 1 required approving reviews"
        )
        assert "requested the promotion" not in held["reason"]  # nobody reviewed at all
        assert image(kube, namespace).endswith("web:1.0.0")  # the merge is not synced
        pending = wait_for(
            lambda: statuses(as_owner, repo, commit) or None, timeout=30, what="a status"
        )
        assert pending[-1]["status"] == "pending" and "held" in pending[-1]["description"]
        # Gitea takes no review of a merged pull request ...
        assert approve_on_gitea(as_reviewer, repo, number).status_code >= 400
        # ... so a person aborts; the merge commit says it was not deployed.
        r = api.post(f"/api/v1/promotions/{second}/abort", json={"reason": "unreviewed"})
        assert r.status_code == 200, r.text
        wait_for(
            lambda: statuses(as_owner, repo, commit)[-1]["status"] == "failure",
            timeout=30,
            what="the failure status",
        )
        assert image(kube, namespace).endswith("web:1.0.0")


def test_a_canary_takes_its_steps_after_the_merge(
    gitea: GiteaServer,
    forge: GiteaApi,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prod = f"{GITOPS}\nstrategy: {{canary: {{steps: [{{setWeight: 50}}, {{pause: 5s}}]}}}}"
    site = gitops_repo(
        forge,
        tmp_path,
        monkeypatch,
        lambda repo: project(cluster.kubeconfig, namespace, gitea.url, repo, prod),
    )
    repo, database = site.repo, f"sqlite:///{tmp_path / 'shiplane.db'}"
    args = ["--repo", site.remote, "--health-timeout", "60"]
    with (
        forge.client(site.owner) as as_owner,
        forge.client(site.reviewer) as as_reviewer,
        running_server(tmp_path / "s", database, extra_args=args) as server,
        server.admin() as api,
    ):
        first = promote(api, "1.0.0")  # nothing runs yet: it starts at full size
        merge(as_reviewer, repo, waiting_pull(api, as_owner, repo, first))
        assert finished(api, first)["state"] == "Succeeded"
        second = promote(api, "2.0.0")
        number = waiting_pull(api, as_owner, repo, second)
        assert not promotion(api, second)["data"].get("strategy")  # nothing before the merge
        commit = merge(as_reviewer, repo, number)

        def canary_running() -> bool:
            names = {d.metadata.name for d in kube.list(Deployment, namespace=namespace)}  # type: ignore[union-attr]
            return "web-canary" in names

        wait_for(canary_running, timeout=90, what="the canary beside the stable version")
        assert image(kube, namespace, "web-canary").endswith("web:2.0.0")
        assert image(kube, namespace).endswith("web:1.0.0")  # the stable one, untouched
        strategy = promotion(api, second)["data"]["strategy"]
        assert strategy["merged"] is True and strategy["commit"] == commit
        done = finished(api, second)
        assert done["state"] == "Succeeded", done["reason"]
        assert done["git_commit"] == commit
        steps = [s["name"] for s in api.get(f"/api/v1/promotions/{second}").json()["steps"]]
        assert steps.count("canary step 1/2: setWeight 50") == 1, steps
        assert steps.count("canary step 2/2: pause 5s") == 1, steps
        assert image(kube, namespace).endswith("web:2.0.0")
        names = {d.metadata.name for d in kube.list(Deployment, namespace=namespace)}  # type: ignore[union-attr]
        assert "web-canary" not in names
        assert statuses(as_owner, repo, commit)[-1]["status"] == "success" or wait_for(
            lambda: statuses(as_owner, repo, commit)[-1]["status"] == "success",
            timeout=30,
            what="the success status",
        )
