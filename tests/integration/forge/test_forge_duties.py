"""What pull-request mode tells the forge survives kill -9, against a real Gitea, real
`shiplane serve` processes and a real local cluster, and lands exactly once:

1. killed right after the promotion was recorded Succeeded (`promotion.verified`),
   before the success status was posted: the next server posts it, once;
2. killed right after an abort request was recorded (`promotion.aborted`), before the
   pull request was closed: the next server closes it; killed again right after
   Gitea closed it, before that was recorded (`forge.duty_done`): the server after
   asks Gitea first, finds it closed, and records the duty done without closing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client

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

PROD = "gitops: {mode: pull-request, pollInterval: 2s}"


def forge_deliveries(api: httpx.Client, pid: str) -> list[dict[str, Any]]:
    r = api.get("/api/v1/notifications", params={"promotion": pid, "limit": 50})
    assert r.status_code == 200, r.text
    return [d for d in r.json()["items"] if d["channel"] == "@forge"]


def close_events(gitea: httpx.Client, repo: str, number: int) -> int:
    r = gitea.get(f"/repos/{repo}/issues/{number}/timeline", params={"limit": 50})
    assert r.status_code == 200, r.text
    return sum(1 for event in r.json() if event.get("type") == "close")


def test_statuses_and_closing_survive_kill_9_and_land_once(
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
        lambda repo: project(cluster.kubeconfig, namespace, gitea.url, repo, PROD),
    )
    repo = site.repo
    database = f"sqlite:///{tmp_path / 'shiplane.db'}"
    args = ["--repo", site.remote, "--health-timeout", "60"]
    with forge.client(site.owner) as as_owner, forge.client(site.reviewer) as as_reviewer:
        # 1. Killed once Succeeded is recorded, before the success status is posted.
        monkeypatch.setenv("SHIPLANE_FAULT_POINT", "promotion.verified")
        with running_server(tmp_path / "s1", database, extra_args=args) as s1:
            admin = s1.admin_token
            with s1.admin() as api:
                first = promote(api, "1.0.0")
                number = waiting_pull(api, as_owner, repo, first)
                commit = merge(as_reviewer, repo, number)
            wait_for(lambda: s1.process.poll() is not None, timeout=120, what="kill -9")
        assert [s["status"] for s in statuses(as_owner, repo, commit)] in ([], ["pending"])
        monkeypatch.delenv("SHIPLANE_FAULT_POINT")
        with (
            running_server(tmp_path / "s2", database, extra_args=args, admin_token=admin) as s2,
            s2.admin() as api,
        ):
            assert promotion(api, first)["state"] == "Succeeded"
            wait_for(
                lambda: [s["status"] for s in statuses(as_owner, repo, commit)][-1:] == ["success"],
                timeout=60,
                what="the success status after the restart",
            )
            wait_for(
                lambda: all(d["status"] == "delivered" for d in forge_deliveries(api, first)),
                timeout=30,
                what="the forge duties recorded done",
            )
            posted = [s["status"] for s in statuses(as_owner, repo, commit)]
            assert posted == ["pending", "success"]  # each once

        # 2. An abort recorded, the server killed before the pull request was closed.
        monkeypatch.setenv("SHIPLANE_FAULT_POINT", "promotion.aborted")
        with (
            running_server(tmp_path / "s3", database, extra_args=args, admin_token=admin) as s3,
            s3.admin() as api,
        ):
            second = promote(api, "2.0.0")
            number = waiting_pull(api, as_owner, repo, second)
            with pytest.raises(httpx.TransportError):  # the server dies answering
                api.post(f"/api/v1/promotions/{second}/abort", json={"reason": "not today"})
            wait_for(lambda: s3.process.poll() is not None, timeout=30, what="kill -9")
        [pr] = pulls(as_owner, repo, f"shiplane/{second}")
        assert pr["state"] == "open"  # recorded, not done
        # ... then killed right after Gitea closed it, before that was recorded.
        monkeypatch.setenv("SHIPLANE_FAULT_POINT", "forge.duty_done")
        with running_server(tmp_path / "s4", database, extra_args=args, admin_token=admin) as s4:
            wait_for(lambda: s4.process.poll() is not None, timeout=60, what="kill -9")
        assert pulls(as_owner, repo, f"shiplane/{second}")[0]["state"] == "closed"
        monkeypatch.delenv("SHIPLANE_FAULT_POINT")
        with (
            running_server(tmp_path / "s5", database, extra_args=args, admin_token=admin) as s5,
            s5.admin() as api,
        ):
            assert promotion(api, second)["state"] == "Aborted"
            # The claim of the killed worker runs out; the duty is asked again.
            wait_for(
                lambda: [d["status"] for d in forge_deliveries(api, second)] == ["delivered"],
                timeout=90,
                what="the close recorded done",
            )
            [close] = forge_deliveries(api, second)
            assert close["event"] == "forge.close" and close["attempts"] == 2
        assert close_events(as_owner, repo.full_name, number) == 1  # closed once
        assert site.token not in s5.logs()
