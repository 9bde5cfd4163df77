"""The Flux test harness itself: Flux's real source-controller and kustomize-controller,
built from their pinned Go modules, run against a local cluster and clone the GitOps
repository over smart HTTP from a loopback git server.

What the `flux` deploy target relies on: a GitRepository and a Kustomization reconcile to
Ready and apply the app; after a new commit, setting `reconcile.fluxcd.io/requestedAt` on
both makes the Kustomization's status.lastAppliedRevision the new commit within seconds,
long before their (ten-minute) intervals would.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap

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


def _ready_at(kube: Client, resource: Any, name: str, ns: str, revision: str) -> Any:
    """The object once it is Ready=True for `revision`; None before."""
    obj = kube.get(resource, name, namespace=ns)
    ready = condition(obj)
    status = obj.get("status") or {}
    applied = status.get("lastAppliedRevision") or (status.get("artifact") or {}).get("revision")
    if ready and ready.get("status") == "True" and applied == revision:
        return obj
    return None


def _flux_objects(ns: str, url: str) -> tuple[Any, Any]:
    repo = GitRepository(
        metadata={"name": "gitops", "namespace": ns},
        spec={"url": url, "ref": {"branch": "main"}, "interval": INTERVAL, "timeout": "30s"},
    )
    app = Kustomization(
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
    return repo, app


def test_flux_applies_a_new_commit_as_soon_as_asked(
    flux: FluxControllers,
    git_http: GitHttpServer,
    kube: Client,
    namespace: str,
    record_property: Any,
) -> None:
    bare, work = build_repo(git_http.root / namespace, project_yaml({}, {}))
    first = git(work, "rev-parse", "HEAD")
    repo, app = _flux_objects(namespace, git_http.repo_url(bare))
    kube.create(repo)
    kube.create(app)

    def ready(resource: Any, name: str, sha: str, timeout: float) -> Any:
        try:
            return wait_for(
                lambda: _ready_at(kube, resource, name, namespace, f"main@sha1:{sha}"),
                timeout=timeout,
                interval=0.1,
                what=f"{resource.__name__} {name} Ready at {sha[:8]}",
            )
        except AssertionError as exc:
            obj = kube.get(resource, name, namespace=namespace)
            raise AssertionError(f"{exc}\nstatus: {obj.get('status')}\n{flux.logs()}") from None

    ready(GitRepository, "gitops", first, 120)
    ready(Kustomization, "web", first, 120)
    config = kube.get(ConfigMap, "web-config", namespace=namespace)
    assert config.data == {"greeting": "hello"}
    deployment = kube.get(Deployment, "web", namespace=namespace)
    assert deployment.status is not None and deployment.status.availableReplicas == 2
    # Flux labels what it applies with its owner: what the target reads as inventory.
    assert deployment.metadata is not None and deployment.metadata.labels is not None
    assert deployment.metadata.labels["kustomize.toolkit.fluxcd.io/name"] == "web"
    # It cloned over smart HTTP from the loopback server, not from the disk.
    assert any(
        r.method == "POST" and r.path.endswith("/git-upload-pack") and r.status == 200
        for r in git_http.requests
    )

    (work / "apps/web/app.yaml").write_text(
        (work / "apps/web/app.yaml").read_text().replace("greeting: hello", "greeting: hi")
    )
    git(work, "commit", "-q", "-am", "say hi")
    git(work, "push", "-q", "origin", "main")
    second = git(work, "rev-parse", "HEAD")

    asked = time.monotonic()
    when = datetime.now(UTC).isoformat()
    request_reconcile(kube, GitRepository, "gitops", namespace, when)
    request_reconcile(kube, Kustomization, "web", namespace, when)
    applied = ready(Kustomization, "web", second, RECONCILE_DEADLINE)
    took = time.monotonic() - asked
    record_property("flux_reconcile_seconds", round(took, 2))
    print(f"Flux applied the new commit {took:.2f}s after the annotation")

    assert applied["status"]["lastHandledReconcileAt"] == when
    assert kube.get(ConfigMap, "web-config", namespace=namespace).data == {"greeting": "hi"}
    inventory = {e["id"] for e in applied["status"]["inventory"]["entries"]}
    assert f"{namespace}_web-config__ConfigMap" in inventory
    assert f"{namespace}_web_apps_Deployment" in inventory
