"""A push made directly in Gitea to `envs/<env>/...` of the GitOps repository reaches the
cluster within seconds through Gitea's signed repository webhook, not at the next poll:
a real Gitea, a real `shiplane serve` following that repository and a real local
cluster. A delivery with a forged signature changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import ConfigMap, Namespace

from shiplane.localcluster.cluster import ClusterState
from tests.integration.forge.conftest import git
from tests.support.clusters import make_namespace
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi, unique_name
from tests.support.gitops_repo import PLAIN_APP
from tests.support.serverproc import running_server
from tests.support.wait import wait_for

pytestmark = [pytest.mark.forge, pytest.mark.cluster]

IMAGE = "registry.example/shop/web:1.0.0"
SECRET_ENV = "SHIPLANE_TEST_GITEA_HOOK_SECRET"
# Far beyond the test's deadline: only the webhook can make the sync happen in time.
POLL_SECONDS = "600"
HAND_MADE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: hand-made}
data: {note: pushed by hand}
"""


def project(kubeconfig: Path, namespace: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          dev: {{cluster: local, namespace: {namespace}}}
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        receivers:
          gitea: {{type: gitea, secretEnv: {SECRET_ENV}}}
        """)


@pytest.fixture
def namespace(kube: Client) -> Iterator[str]:
    made = make_namespace(kube, "dev")
    yield made
    kube.delete(Namespace, made)


def config_map(kube: Client, name: str, namespace: str) -> ConfigMap | None:
    try:
        return kube.get(ConfigMap, name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise


def history(api: httpx.Client) -> list[dict[str, Any]]:
    r = api.get("/api/v1/history", params={"environment": "dev", "app": "web"})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_a_push_in_gitea_to_an_environment_is_synced_within_seconds_via_the_webhook(
    gitea: GiteaServer,
    forge: GiteaApi,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = forge.create_user()
    repo = forge.create_repo(owner, unique_name("gitops"))
    token = forge.create_token(owner, ["write:repository"])
    remote = repo.authenticated_url(owner.name, token)
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", remote, str(work))
    (work / "shiplane.yaml").write_text(project(cluster.kubeconfig, namespace))
    (work / "apps/web").mkdir(parents=True)
    (work / "apps/web/app.yaml").write_text(PLAIN_APP)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "shop")
    git(work, "push", "-q", "origin", "main")

    secret = secrets.token_urlsafe(24)
    monkeypatch.setenv(SECRET_ENV, secret)
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", remote, "--git-poll", POLL_SECONDS, "--health-timeout", "60"],
    ) as server, server.admin() as api:  # fmt: skip
        # web is deployed to dev by a promotion (Shiplane writes its pin).
        r = api.post("/api/v1/releases", json={"artifacts": {"web": IMAGE}, "alias": "1.0.0"})
        assert r.status_code == 201, r.text
        r = api.post("/api/v1/promotions", json={"release": r.json()["id"], "environment": "dev"})
        assert r.status_code == 201, r.text
        promotion = r.json()["id"]
        wait_for(
            lambda: (
                api.get(f"/api/v1/promotions/{promotion}").json()["promotion"]["state"]
                == "Succeeded"
            ),
            timeout=120,
            what="web promoted to dev",
        )
        forge.create_webhook(
            repo, f"{server.url}/api/v1/hooks/gitea", secret=secret, events=["push"]
        )

        # Someone pushes a hand-made manifest to envs/dev/web/ directly.
        git(work, "pull", "-q", "--rebase", "origin", "main")
        (work / "envs/dev/web/hand-made.yaml").write_text(HAND_MADE)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "a hand-made change")
        git(work, "push", "-q", "origin", "main")
        head = git(work, "rev-parse", "HEAD").strip()

        made = wait_for(
            lambda: config_map(kube, "hand-made", namespace),
            timeout=30,
            what="the hand-made ConfigMap synced to dev",
        )
        assert made.data == {"note": "pushed by hand"}
        synced = wait_for(
            lambda: next(
                (
                    run
                    for run in history(api)
                    if run["kind"] == "sync" and run["git_commit"] == head
                ),
                None,
            ),
            timeout=30,
            what="the sync run at the pushed commit",
        )
        assert synced["actor"] == "hook:gitea" and synced["status"] == "succeeded"
        r = api.get("/api/v1/audit", params={"action": "hook.received", "limit": 10})
        # (Gitea may still deliver the promotion's own push, queued before the hook was
        # made: it names another commit.)
        [received] = [
            e for e in r.json()["items"] if (e["details"]["gitops"] or {}).get("commit") == head
        ]
        assert received["details"]["gitops"] == {
            "commit": head,
            "environments": ["dev"],
            "by": "payload",
        }

        # A forged delivery (signed with another secret) is refused and syncs nothing.
        body = json.dumps(
            {
                "ref": "refs/heads/main",
                "after": "f" * 40,
                "commits": [{"added": ["envs/dev/web/x.yaml"], "modified": [], "removed": []}],
                "repository": {"clone_url": repo.clone_url},
            }
        ).encode()
        forged = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
        answer = httpx.post(
            f"{server.url}/api/v1/hooks/gitea",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Gitea-Event": "push",
                "X-Gitea-Delivery": "forged-1",
                "X-Gitea-Signature": forged,
            },
            timeout=10,
        )
        assert answer.status_code == 401
        assert answer.json()["reason"] == "bad-signature"
        r = api.get("/api/v1/audit", params={"action": "hook.refused", "limit": 20})
        assert [e["details"]["reason"] for e in r.json()["items"]] == ["bad-signature"]
        r = api.get("/api/v1/audit", params={"action": "hook.received", "limit": 20})
        assert all(
            (e["details"]["gitops"] or {}).get("commit") != "f" * 40 for e in r.json()["items"]
        )
        assert secret not in server.logs() and token not in server.logs()
