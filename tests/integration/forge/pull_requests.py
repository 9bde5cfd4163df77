"""Pull-request mode against a real Gitea and a real `shiplane serve`: the set-up (a
GitOps repository on Gitea with one plain app, a project whose prod is in pull-request
mode) and the steps the tests take (promote, find the pull request, merge, read the
merge commit's statuses)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.forge.conftest import git
from tests.support.gitea_api import GiteaApi, GiteaRepo, GiteaUser, unique_name
from tests.support.gitops_repo import PLAIN_APP
from tests.support.wait import wait_for

TOKEN_ENV = "SHIPLANE_TEST_GITEA_TOKEN"
CONTEXT = "shiplane/verification"


def project(
    kubeconfig: Path, namespace: str, gitea: str, repo: GiteaRepo, prod: str, top: str = ""
) -> str:
    """A project whose prod (in `namespace`) has the extra settings `prod` (YAML lines
    of its mapping, e.g. its gitops and approvals), the forge `repo` on `gitea`, and
    the top-level sections `top` (e.g. checks)."""
    extra = textwrap.indent(textwrap.dedent(prod).strip(), " " * 4)
    head = textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          prod:
            cluster: local
            namespace: {namespace}
        """)
    tail = textwrap.dedent(f"""\
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        forge:
          gitea:
            url: '{gitea}'
            repository: {repo.full_name}
            tokenEnv: {TOKEN_ENV}
            timeout: 5s  # a killed worker's claim on a forge duty runs out sooner
        """)
    return head + extra + "\n" + tail + textwrap.dedent(top)


@dataclass
class Forge:
    """The GitOps repository on Gitea, its owner (Shiplane's token) and a reviewer."""

    repo: GiteaRepo
    owner: GiteaUser
    reviewer: GiteaUser
    token: str
    remote: str


def gitops_repo(
    forge: GiteaApi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: Any,
) -> Forge:
    """A repository owned by a new user, a second user with write access (the reviewer),
    the owner's token in TOKEN_ENV, and shiplane.yaml (`config(repo)`) + the app pushed."""
    owner, reviewer = forge.create_user(), forge.create_user()
    repo = forge.create_repo(owner, unique_name("gitops"))
    forge.add_collaborator(repo, reviewer)
    token = forge.create_token(owner, ["write:repository"])
    remote = repo.authenticated_url(owner.name, token)
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", remote, str(work))
    (work / "shiplane.yaml").write_text(config(repo))
    (work / "apps/web").mkdir(parents=True)
    (work / "apps/web/app.yaml").write_text(PLAIN_APP)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "shop")
    git(work, "push", "-q", "origin", "main")
    monkeypatch.setenv(TOKEN_ENV, token)
    return Forge(repo, owner, reviewer, token, remote)


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


def merge(reviewer: httpx.Client, repo: GiteaRepo, number: int) -> str:
    """Merge pull request `number` (as `reviewer`); the merge commit."""

    def merged() -> bool:
        # Gitea checks mergeability in the background: 405 until it has.
        r = reviewer.post(f"/repos/{repo.full_name}/pulls/{number}/merge", json={"Do": "merge"})
        return r.status_code in (200, 204)

    wait_for(merged, timeout=30, what=f"pull request #{number} merged")
    found = reviewer.get(f"/repos/{repo.full_name}/pulls/{number}").json()
    return str(found["merge_commit_sha"])


def approve_on_gitea(reviewer: httpx.Client, repo: GiteaRepo, number: int) -> httpx.Response:
    """An APPROVED review of pull request `number` through Gitea's review API."""
    return reviewer.post(
        f"/repos/{repo.full_name}/pulls/{number}/reviews",
        json={"event": "APPROVED", "body": "ship it"},
    )


def statuses(gitea: httpx.Client, repo: GiteaRepo, sha: str) -> list[dict[str, Any]]:
    """Every status ever set on `sha` under Shiplane's context, oldest first."""
    r = gitea.get(f"/repos/{repo.full_name}/statuses/{sha}", params={"limit": 50})
    assert r.status_code == 200, r.text
    found = [s for s in r.json() if s["context"] == CONTEXT]
    return sorted(found, key=lambda s: s["id"])
