"""The Flux test harness itself: Flux's real source-controller and kustomize-controller,
built from their pinned Go modules, run against a local cluster and clone the GitOps
repository over smart HTTP from a loopback git server.

What the `flux` deploy target relies on: a GitRepository and a Kustomization reconcile to
Ready and apply the app; after a new commit, setting `reconcile.fluxcd.io/requestedAt` on
both makes the Kustomization's status.lastAppliedRevision the new commit within seconds,
long before their (ten-minute) intervals would; a commit Flux cannot apply leaves the
Kustomization Ready=False with Flux's own message, at the old applied revision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import kube_client, make_namespace
from tests.support.flux import (
    FluxControllers,
    GitRepository,
    Kustomization,
    condition,
    request_reconcile,
)
from tests.support.git_http import GitHttpServer
from tests.support.gitops_repo import build_repo, git, project_yaml
from tests.support.wait import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.flux]

# Flux never reconciles on its own during the test: only the annotation can explain a
# new revision being applied.
INTERVAL = "10m"
# How long Flux may take from the annotation to applying the new commit. Flux itself
# answers in about a second on an idle machine; the margin is for a loaded one.
RECONCILE_DEADLINE = 60.0
FIRST_DEADLINE = 120.0


@dataclass
class FluxApp:
    """The GitOps repository of one test, and Flux objects `gitops` and `web` syncing its
    `apps/web` into `namespace` of the cluster `kube` talks to."""

    kube: Client
    flux: FluxControllers
    namespace: str
    checkout: Path

    def head(self) -> str:
        return git(self.checkout, "rev-parse", "HEAD")

    def commit(self, message: str, change: Callable[[str], str]) -> str:
        """Change apps/web/app.yaml, push the commit to the served bare repository."""
        path = self.checkout / "apps/web/app.yaml"
        path.write_text(change(path.read_text()))
        git(self.checkout, "commit", "-q", "-am", message)
        git(self.checkout, "push", "-q", "origin", "main")
        return self.head()

    def ask(self) -> str:
        """Ask Flux to reconcile both objects now; the requestedAt value set."""
        when = datetime.now(UTC).isoformat()
        request_reconcile(self.kube, GitRepository, "gitops", self.namespace, when)
        request_reconcile(self.kube, Kustomization, "web", self.namespace, when)
        return when

    def wait(self, resource: Any, name: str, what: str, check: Callable[[Any], bool]) -> Any:
        """The object once `check` holds for it; on a timeout, its status and Flux's logs."""
        deadline = FIRST_DEADLINE if what.startswith("first") else RECONCILE_DEADLINE

        def probe() -> Any:
            obj = self.kube.get(resource, name, namespace=self.namespace)
            return obj if check(obj) else None

        try:
            return wait_for(probe, timeout=deadline, interval=0.1, what=f"{name}: {what}")
        except AssertionError as exc:
            obj = self.kube.get(resource, name, namespace=self.namespace)
            raise AssertionError(
                f"{exc}\nstatus: {obj.get('status')}\n{self.flux.logs()}"
            ) from None

    def ready_at(self, resource: Any, name: str, sha: str, what: str = "") -> Any:
        return self.wait(resource, name, what or f"Ready at {sha[:8]}", _ready_at(sha))


def _ready_at(sha: str) -> Callable[[Any], bool]:
    def check(obj: Any) -> bool:
        ready = condition(obj)
        status = obj.get("status") or {}
        applied = status.get("lastAppliedRevision") or (status.get("artifact") or {}).get(
            "revision"
        )
        return bool(ready and ready["status"] == "True" and applied == f"main@sha1:{sha}")

    return check


def _deploy(flux: FluxControllers, git_http: GitHttpServer, kube: Client, ns: str) -> FluxApp:
    """A GitOps repository served over HTTP, and a GitRepository + Kustomization on it,
    both Ready at its first commit."""
    bare, work = build_repo(git_http.root / ns, project_yaml({}, {}))
    app = FluxApp(kube, flux, ns, work)
    kube.create(
        GitRepository(
            metadata={"name": "gitops", "namespace": ns},
            spec={
                "url": git_http.repo_url(bare),
                "ref": {"branch": "main"},
                "interval": INTERVAL,
                "timeout": "30s",
            },
        )
    )
    kube.create(
        Kustomization(
            metadata={"name": "web", "namespace": ns},
            spec={
                "sourceRef": {"kind": "GitRepository", "name": "gitops"},
                "path": "./apps/web",
                "targetNamespace": ns,
                "prune": True,
                "wait": True,  # Ready only once the Deployment is available
                "interval": INTERVAL,
                "timeout": "60s",
            },
        )
    )
    first = app.head()
    app.ready_at(GitRepository, "gitops", first, "first artifact")
    app.ready_at(Kustomization, "web", first, "first apply")
    return app


def test_flux_applies_a_new_commit_as_soon_as_asked(
    flux: FluxControllers,
    git_http: GitHttpServer,
    kube: Client,
    namespace: str,
    record_property: Any,
) -> None:
    app = _deploy(flux, git_http, kube, namespace)
    config = kube.get(ConfigMap, "web-config", namespace=namespace)
    assert config.data == {"greeting": "hello"}
    deployment = kube.get(Deployment, "web", namespace=namespace)
    assert deployment.status is not None and deployment.status.availableReplicas == 2
    # Flux labels what it applies with its owner: what the target reads as inventory.
    assert deployment.metadata is not None and deployment.metadata.labels is not None
    assert deployment.metadata.labels["kustomize.toolkit.fluxcd.io/name"] == "web"
    # It cloned over smart HTTP from the loopback server, not from the disk.
    assert any(
        r.method == "POST" and r.path == f"/{namespace}/gitops.git/git-upload-pack"
        for r in git_http.requests
        if r.status == 200
    )

    second = app.commit("say hi", lambda text: text.replace("greeting: hello", "greeting: hi"))
    asked = time.monotonic()
    when = app.ask()
    applied = app.ready_at(Kustomization, "web", second)
    took = time.monotonic() - asked
    record_property("flux_reconcile_seconds", round(took, 2))
    print(f"Flux applied the new commit {took:.2f}s after the annotation")

    assert applied["status"]["lastHandledReconcileAt"] == when
    assert kube.get(ConfigMap, "web-config", namespace=namespace).data == {"greeting": "hi"}
    inventory = {e["id"] for e in applied["status"]["inventory"]["entries"]}
    assert f"{namespace}_web-config__ConfigMap" in inventory
    assert f"{namespace}_web_apps_Deployment" in inventory


def test_a_commit_flux_cannot_apply_leaves_it_not_ready_with_its_message(
    flux: FluxControllers, git_http: GitHttpServer, kube: Client, namespace: str
) -> None:
    app = _deploy(flux, git_http, kube, namespace)
    first = app.head()
    broken = app.commit("no kind", lambda text: text.replace("kind: ConfigMap\n", ""))
    app.ask()

    def failed_at_broken(obj: Any) -> bool:
        ready = condition(obj)
        status = obj.get("status") or {}
        attempted = status.get("lastAttemptedRevision") == f"main@sha1:{broken}"
        return bool(ready and ready["status"] == "False" and attempted)

    failed = app.wait(Kustomization, "web", "Ready=False at the broken commit", failed_at_broken)
    ready = condition(failed)
    assert ready is not None
    assert ready["reason"] == "BuildFailed"
    assert "kind" in ready["message"]
    # Nothing of the broken commit was applied: the last applied revision stays the first.
    assert failed["status"]["lastAppliedRevision"] == f"main@sha1:{first}"
    assert kube.get(ConfigMap, "web-config", namespace=namespace).data == {"greeting": "hello"}


def test_each_cluster_has_its_own_flux(
    second_flux: FluxControllers,
    second_cluster: ClusterState,
    git_http: GitHttpServer,
    kube: Client,
) -> None:
    kube_b = kube_client(second_cluster)
    ns = make_namespace(kube_b, "flux-b")
    assert second_flux.kubeconfig == second_cluster.kubeconfig
    _deploy(second_flux, git_http, kube_b, ns)
    assert kube_b.get(ConfigMap, "web-config", namespace=ns).data == {"greeting": "hello"}
    # The primary cluster has no such namespace: Flux applied to its own cluster only.
    with pytest.raises(ApiError) as missing:
        kube.get(ConfigMap, "web-config", namespace=ns)
    assert missing.value.status.code == 404
