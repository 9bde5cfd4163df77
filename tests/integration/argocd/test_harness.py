"""The Argo CD harness runs the real thing: an Application syncs a plain-YAML app from a
`file://` GitOps repository to the local cluster, Synced and Healthy at the commit; after
a new commit, a refresh and a sync operation, it is Synced at the new commit and the
cluster holds the new objects."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

from tests.support.argocd import ArgoCD, application
from tests.support.gitops_repo import git
from tests.support.wait import wait_for

pytestmark = [pytest.mark.argocd, pytest.mark.cluster]

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: registry.example/shop/web:1.0.0}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: GREETING}
"""


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    bare = tmp_path / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    git(work, "checkout", "-q", "-b", "main")
    return bare, work


def _commit(work: Path, greeting: str) -> str:
    path = work / "apps" / "web" / "app.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(APP.replace("GREETING", greeting))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"web says {greeting}")
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def _synced_healthy_at(argocd: ArgoCD, name: str, commit: str) -> dict[str, Any] | None:
    app = argocd.application(name)
    status = app.get("status") or {}
    sync, health = status.get("sync") or {}, status.get("health") or {}
    operation = status.get("operationState") or {}
    done = (
        sync.get("revision") == commit
        and sync.get("status") == "Synced"
        and health.get("status") == "Healthy"
        and operation.get("phase") == "Succeeded"
        and "operation" not in app
    )
    return app if done else None


def _sync_state(argocd: ArgoCD, name: str) -> tuple[str | None, str | None]:
    sync = (argocd.application(name).get("status") or {}).get("sync") or {}
    return sync.get("revision"), sync.get("status")


def _wait_synced(argocd: ArgoCD, name: str, commit: str) -> dict[str, Any]:
    try:
        return wait_for(
            lambda: _synced_healthy_at(argocd, name, commit),
            timeout=120,
            interval=0.5,
            what=f"Application {name} Synced and Healthy at {commit[:12]}",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{argocd.application(name).get('status')}\n"
                             f"{argocd.logs()}") from None  # fmt: skip


def test_an_application_syncs_a_commit_then_the_next(
    argocd: ArgoCD, kube: Client, namespace: str, tmp_path: Path
) -> None:
    bare, work = _repo(tmp_path)
    first = _commit(work, "hello")
    name = f"web-{namespace}"
    argocd.apply(application(name, f"file://{bare}", "apps/web", argocd.destination, namespace))
    try:
        _sync_twice(argocd, kube, namespace, work, name, first)
    finally:
        argocd.delete(name)


def _sync_twice(
    argocd: ArgoCD, kube: Client, namespace: str, work: Path, name: str, first: str
) -> None:
    argocd.sync(name, first)

    app = _wait_synced(argocd, name, first)
    assert app["status"]["operationState"]["syncResult"]["revision"] == first
    assert kube.get(ConfigMap, "web-config", namespace=namespace).data == {"greeting": "hello"}
    kinds = {(r["kind"], r["name"]) for r in app["status"]["resources"]}
    assert kinds == {("Deployment", "web"), ("ConfigMap", "web-config")}
    assert kube.get(Deployment, "web", namespace=namespace).status.availableReplicas == 1

    second = _commit(work, "bonjour")
    argocd.refresh(name)
    # The refresh alone compares against the branch's new head: OutOfSync there.
    wait_for(
        lambda: _sync_state(argocd, name) == (second, "OutOfSync"),
        timeout=60,
        interval=0.5,
        what=f"Application {name} OutOfSync at {second[:12]} after the refresh",
    )
    argocd.sync(name, second)

    app = _wait_synced(argocd, name, second)
    assert app["status"]["sync"]["revision"] == second
    assert kube.get(ConfigMap, "web-config", namespace=namespace).data == {"greeting": "bonjour"}
    history = [entry["revision"] for entry in app["status"]["history"]]
    assert history[-2:] == [first, second]
