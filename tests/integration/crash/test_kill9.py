"""kill -9 anywhere: `shiplane serve` dies at a named point of a promotion (the fault hook
sends it SIGKILL), restarts without the fault, and every promotion still ends right:
one commit per promotion, nothing applied from a stale commit, a valid audit chain with
no doubled transition, nothing left running."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

from shiplane.engine.faults import FAULT_ENV, POINTS
from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git
from tests.support.serverproc import ServerProcess, start_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster

GOOD = "registry.example/shop/web:1.0.0"
NEXT = "registry.example/shop/web:1.1.0"
BAD = "registry.example/shop/web:2.0.0-fail"  # its smoke Job fails: staging rolls back
FINISHED = {"Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"}


CANARY = "strategy: {canary: {steps: [{setWeight: 50}, {pause: 3s}]}}"
"""staging's strategy for the kill in the middle of a canary (`strategy.during`)."""


def project(kubeconfig: Path, dev: str, staging: str, canary: bool = False) -> str:
    # `tier: development` is the default: the same project unless a canary is asked for.
    strategy = CANARY if canary else "tier: development"
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: crash
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          dev: {{cluster: local, namespace: {dev}, autoPromote: true}}
          staging:
            cluster: local
            namespace: {staging}
            after: [dev]
            autoPromote: true
            verify: [smoke, settle]
            rollback: {{onFailure: auto}}
            {strategy}
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
          api:
            images: [registry.example/shop/api]
            manifests: {{path: apps/api, render: kustomize}}
            dependsOn: [web]
        checks:
          smoke: {{job: {{image: "{{{{image}}}}", timeout: 60s}}}}
          settle: {{soak: {{duration: 2s}}}}
        """)


class Run:
    def __init__(self, tmp: Path, bare: Path, namespaces: dict[str, str], kube: Client) -> None:
        self.tmp, self.bare, self.namespaces, self.kube = tmp, bare, namespaces, kube
        self.db_url = f"sqlite:///{tmp / 'shiplane.db'}"
        self.token = "shp_crash_test_admin_token_0123456789"
        self.server: ServerProcess | None = None

    def start(self, fault: str | None) -> ServerProcess:
        if fault is None:
            os.environ.pop(FAULT_ENV, None)
        else:
            os.environ[FAULT_ENV] = fault
        try:
            self.server = start_server(
                self.tmp / "server",
                self.db_url,
                admin_token=self.token,
                extra_args=["--repo", str(self.bare), "--health-timeout", "60"],
            )
        finally:
            os.environ.pop(FAULT_ENV, None)
        return self.server

    def api(self) -> httpx.Client:
        assert self.server is not None
        return self.server.admin()

    def release(self, web: str, api: str, alias: str) -> dict[str, Any]:
        with self.api() as c:
            r = c.post(
                "/api/v1/releases", json={"artifacts": {"web": web, "api": api}, "alias": alias}
            )
            assert r.status_code == 201, r.text
            return r.json()

    def promotions(self) -> list[dict[str, Any]]:
        with self.api() as c:
            return c.get("/api/v1/promotions", params={"limit": 100}).json()["items"]


@pytest.fixture
def run(
    tmp_path: Path, cluster: ClusterState, kube: Client, request: pytest.FixtureRequest
) -> Iterator[Run]:
    namespaces = {"dev": make_namespace(kube, "dev"), "staging": make_namespace(kube, "stg")}
    canary = request.node.callspec.params.get("point") in STRATEGY_POINTS
    bare, work = build_repo(
        tmp_path,
        project(cluster.kubeconfig, namespaces["dev"], namespaces["staging"], canary=canary),
    )
    for env in namespaces:
        (work / f"envs/{env}/api").mkdir(parents=True)
        (work / f"envs/{env}/api/kustomization.yaml").write_text("resources: [../../../apps/api]\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "overlays")
    git(work, "push", "-q", "origin", "main")
    r = Run(tmp_path, bare, namespaces, kube)
    yield r
    if r.server is not None:
        r.server.stop()
    for ns in namespaces.values():
        kube.delete(Namespace, ns)


ROLLBACK_POINTS = {"rollback.started", "rollback.after_push"}
STRATEGY_POINTS = {"strategy.during"}
"""Reached only in a canary's steps: staging runs one (its first release has nothing to
run beside, so a verified release goes first)."""


PULL_REQUEST_POINTS = {
    "pull_request.opened",
    "pull_request.waiting",
    "promotion.aborted",
    "forge.duty_done",
}
"""Reached only in pull-request mode, which needs a forge (or by an abort request): killed
there against a real Gitea in tests/integration/forge/test_pull_request_mode.py and
test_forge_duties.py."""


@pytest.mark.parametrize("point", [p for p in POINTS if p not in PULL_REQUEST_POINTS])
def test_promotions_end_right_after_kill_9(run: Run, point: str):
    rollback = point in ROLLBACK_POINTS
    canary = point in STRATEGY_POINTS
    if rollback or canary:
        # Get a verified release in place first, then kill during the bad one's rollback
        # (or in the middle of the next one's canary).
        run.start(None)
        good = run.release(GOOD, "registry.example/shop/api:1.0.0", "1.0.0")
        wait_for(
            lambda: _states(run, good["id"]) == {"dev": "Succeeded", "staging": "Succeeded"},
            timeout=120,
            what="the good release in dev and staging",
        )
        run.server.stop()  # type: ignore[union-attr]
    server = run.start(point)
    release = (
        BAD if rollback else GOOD,
        "registry.example/shop/api:2.0.0" if rollback else "registry.example/shop/api:1.0.0",
        "2.0.0" if rollback else "1.0.0",
    )
    if canary:
        release = (NEXT, "registry.example/shop/api:1.1.0", "1.1.0")
    if point == "release.stored":
        # The server dies inside the transaction that stores the release with its
        # auto-promotions: the client sees the connection drop.
        with pytest.raises(httpx.TransportError):
            run.release(*release)
    else:
        target = run.release(*release)
    # The fault hook kills the server at the point: SIGKILL, exit status -9.
    wait_for(
        lambda: server.process.poll() is not None, timeout=120, what=f"the server to die at {point}"
    )
    assert server.process.returncode == -9, server.logs()[-2000:]

    run.start(None)
    if point == "release.stored":
        # CI sends the release again. 201, not 200: the first attempt left nothing
        # behind, neither the release nor some of its promotions.
        target = run.release(*release)
    expected = {"dev": "Succeeded", "staging": "RolledBack" if rollback else "Succeeded"}
    wait_for(
        lambda: _states(run, target["id"]) == expected,
        timeout=180,
        what=f"the promotions of {target['alias']} to end as {expected} after {point}",
    )
    wait_for(
        lambda: all(p["state"] in FINISHED for p in run.promotions()),
        timeout=60,
        what="every promotion to finish",
    )

    promotions = run.promotions()
    # Exactly one commit per promotion (rollbacks included), none doubled by the restart.
    log = git(run.bare, "log", "--format=%B", "main")
    trailers = Counter(
        line.split(": ", 1)[1]
        for line in log.splitlines()
        if line.startswith("Shiplane-Promotion: ")
    )
    deployed = [p for p in promotions if p["state"] in {"Succeeded", "RolledBack"}]
    assert {p["id"]: trailers[p["id"]] for p in deployed} == {p["id"]: 1 for p in deployed}
    assert set(trailers) <= {p["id"] for p in promotions}

    # Nothing applied from a stale commit: the cluster runs what git's head pins.
    for env, ns in run.namespaces.items():
        pin = git(run.bare, "show", f"main:envs/{env}/web/shiplane.pin.yaml")
        live = run.kube.get(Deployment, "web", namespace=ns).spec.template.spec.containers[0]
        assert f"ref: {live.image}" in pin, (env, live.image, pin)

    with run.api() as c:
        verified = c.get("/api/v1/audit/verify").json()
        assert verified["ok"], verified
        events = c.get("/api/v1/audit", params={"limit": 500}).json()["items"]
        history = c.get("/api/v1/history", params={"limit": 500}).json()["items"]
    # Transitions happen once each. (A canary also writes `promotion.strategy_step` for
    # every round in which an app's step ended, several per promotion: that each step
    # ended once is checked on the promotion's steps below.)
    transitions = Counter(
        (e["subject"], e["action"])
        for e in events
        if e["action"].startswith("promotion.") and e["action"] != "promotion.strategy_step"
    )
    doubled = {k: n for k, n in transitions.items() if n > 1}
    assert doubled == {}, doubled
    assert not [h for h in history if h["status"] == "running"]

    if canary:
        # Resumed at the same step: each canary step ended once, and the canaries went.
        staging = next(
            p for p in deployed if p["environment"] == "staging" and p["release_id"] == target["id"]
        )
        with run.api() as c:
            steps = [
                st["name"] for st in c.get(f"/api/v1/promotions/{staging['id']}").json()["steps"]
            ]
        for app in ("web", "api"):
            assert steps.count(f"{app}: canary step 1/2: setWeight 50") == 1, steps
            assert steps.count(f"{app}: canary step 2/2: pause 3s") == 1, steps
            canaries = run.kube.list(Deployment, namespace=run.namespaces["staging"])
            assert f"{app}-canary" not in {d.metadata.name for d in canaries}  # type: ignore[union-attr]

    with run.api() as c:
        assert c.get("/readyz").status_code == 200  # database and the cluster answer
        metrics = c.get("/metrics").text
    assert 'shiplane_promotions{environment="dev",state="Succeeded"}' in metrics
    # Declared even when this process has deployed nothing yet (the kill came after).
    assert "# TYPE shiplane_deploy_duration_seconds histogram" in metrics


def _states(run: Run, release_id: str) -> dict[str, str]:
    return {
        p["environment"]: p["state"]
        for p in run.promotions()
        if p["release_id"] == release_id and p["kind"] == "normal"
    }
