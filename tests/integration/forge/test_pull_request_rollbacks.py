"""Rollbacks in pull-request mode, against a real Gitea, real `shiplane serve` and a
real local cluster: a merged release fails verification (its smoke Job fails) and prod
rolls back automatically. With `gitops.rollback: direct` (the default) the rollback is
pushed to the base branch at once, with no pull request, and the audit says it bypassed
review; with `gitops.rollback: pull-request` the rollback opens a pull request and the
cluster keeps the failed release until someone merges it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
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
    statuses,
    waiting_pull,
)
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi
from tests.support.serverproc import running_server
from tests.support.wait import wait_for

pytestmark = [pytest.mark.forge, pytest.mark.cluster]

CHECKS = """\
checks:
  smoke: {job: {image: "{{image}}", timeout: 60s}}
"""


def image(kube: Client, namespace: str) -> str:
    found = kube.get(Deployment, "web", namespace=namespace)
    return str(found.spec.template.spec.containers[0].image)  # type: ignore[union-attr]


def state_of(api: httpx.Client, pid: str, states: set[str], timeout: float = 180) -> dict[str, Any]:
    wait_for(
        lambda: promotion(api, pid)["state"] in states,
        timeout=timeout,
        what=f"{pid} in {sorted(states)}",
    )
    return promotion(api, pid)


@pytest.mark.parametrize("policy", ["direct", "pull-request"])
def test_a_failed_release_rolls_back_by_the_policy(
    policy: str,
    gitea: GiteaServer,
    forge: GiteaApi,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prod = (
        f"gitops: {{mode: pull-request, pollInterval: 2s, rollback: {policy}}}\n"
        "verify: [smoke]\nrollback: {onFailure: auto}"
    )
    site = gitops_repo(
        forge,
        tmp_path,
        monkeypatch,
        lambda repo: project(cluster.kubeconfig, namespace, gitea.url, repo, prod, CHECKS),
    )
    repo, database = site.repo, f"sqlite:///{tmp_path / 'shiplane.db'}"
    args = ["--repo", site.remote, "--health-timeout", "60"]
    with (
        forge.client(site.owner) as as_owner,
        forge.client(site.reviewer) as as_reviewer,
        running_server(tmp_path / "s", database, extra_args=args) as server,
        server.admin() as api,
    ):
        good = promote(api, "1.0.0")
        merge(as_reviewer, repo, waiting_pull(api, as_owner, repo, good))
        assert state_of(api, good, {"Succeeded", "Failed"})["state"] == "Succeeded"
        bad = promote(api, "2.0.0-fail")
        commit = merge(as_reviewer, repo, waiting_pull(api, as_owner, repo, bad))
        assert state_of(api, bad, {"RollingBack", "RolledBack", "Failed"})["state"] != "Failed"
        listed = api.get("/api/v1/promotions", params={"environment": "prod", "limit": 20})
        [rollback] = [p["id"] for p in listed.json()["items"] if p["kind"] == "rollback"]
        wait_for(
            lambda: [s["status"] for s in statuses(as_owner, repo, commit)][-1:] == ["failure"],
            timeout=30,
            what="the failure status on the failed merge commit",
        )
        audit = api.get("/api/v1/audit", params={"action": "promotion.direct_push"}).json()
        if policy == "direct":
            done = state_of(api, rollback, {"Succeeded", "Failed"})
            assert done["state"] == "Succeeded", done["reason"]
            assert pulls(as_owner, repo, f"shiplane/{rollback}") == []  # no pull request
            main = as_owner.get(f"/repos/{repo.full_name}/branches/main").json()
            assert done["git_commit"] == main["commit"]["id"]  # pushed to main directly
            audit = api.get("/api/v1/audit", params={"action": "promotion.direct_push"}).json()
            [note] = [e for e in audit["items"] if e["subject"] == rollback]
            assert note["details"]["note"] == "rolled back by direct push, bypassing review"
        else:
            number = waiting_pull(api, as_owner, repo, rollback)
            assert image(kube, namespace).endswith("web:2.0.0-fail")  # not before the merge
            assert not [e for e in audit["items"] if e["subject"] == rollback]
            rolled = merge(as_reviewer, repo, number)
            done = state_of(api, rollback, {"Succeeded", "Failed"})
            assert done["state"] == "Succeeded", done["reason"]
            assert done["git_commit"] == rolled
        assert state_of(api, bad, {"RolledBack"})["state"] == "RolledBack"
        assert image(kube, namespace).endswith("web:1.0.0")
