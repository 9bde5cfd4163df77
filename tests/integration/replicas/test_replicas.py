"""Several `shiplane serve` replicas on one PostgreSQL share the work through leases.

- Three replicas, 60 promotions (20 releases of 6 apps through dev -> staging -> prod),
  one replica killed with SIGKILL and restarted twice while promotions are in flight:
  every promotion succeeds exactly once (one commit each, no doubled transition, a
  valid audit chain, nothing left running, the cluster runs what git pins).
- A replica frozen (SIGSTOP) in the middle of a deploy, past its lease, then resumed:
  another replica finished the promotion meanwhile, and the resumed one writes nothing.
"""

from __future__ import annotations

import os
import signal
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

from shiplane.engine.faults import ACTION_ENV, FAULT_ENV
from shiplane.localcluster.cluster import ClusterState
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import git
from tests.support.serverproc import ServerProcess, postgres_database, start_server
from tests.support.wait import WaitTimeout, wait_for

pytestmark = pytest.mark.cluster

APPS = [f"a{i}" for i in range(6)]
ENVS = ["dev", "staging", "prod"]
TTL = "3"  # seconds: takeovers within a few seconds keep the test short
TOKEN = "shp_replicas_test_admin_token_0123456789"


def app_yaml(name: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}}}
        spec:
          replicas: 1
          progressDeadlineSeconds: 30
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec:
              containers:
              - {{name: main, image: registry.example/shop/{name}:0.0.0}}
        """)


def project_yaml(kubeconfig: Path, namespaces: dict[str, str]) -> str:
    apps = "\n".join(
        f"  {a}: {{images: [registry.example/shop/{a}], manifests: {{path: apps/{a}}}}}"
        for a in APPS
    )
    return (
        textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: replicas
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          dev: {{cluster: local, namespace: {namespaces["dev"]}, autoPromote: true}}
          staging:
            cluster: local
            namespace: {namespaces["staging"]}
            after: [dev]
            autoPromote: true
          prod:
            cluster: local
            namespace: {namespaces["prod"]}
            after: [staging]
            autoPromote: true
        apps:
        """)
        + apps
        + "\n"
    )


class Fleet:
    """Replicas of one Shiplane installation: same database, same GitOps repository."""

    def __init__(self, tmp: Path, db_url: str, bare: Path, kube: Client, ns: dict[str, str]):
        self.tmp, self.db_url, self.bare, self.kube, self.namespaces = tmp, db_url, bare, kube, ns
        self.replicas: dict[str, ServerProcess] = {}
        self.dead: list[ServerProcess] = []
        self.starts = 0

    def start(self, name: str, *, pause_at: str | None = None, ttl: str = TTL) -> ServerProcess:
        self.starts += 1
        if pause_at is not None:
            os.environ[FAULT_ENV], os.environ[ACTION_ENV] = pause_at, "stop"
        try:
            server = start_server(
                self.tmp / f"{name}-{self.starts}",
                self.db_url,
                admin_token=TOKEN,
                extra_args=["--repo", str(self.bare), "--health-timeout", "60", "--lease-ttl", ttl],
            )
        finally:
            os.environ.pop(FAULT_ENV, None)
            os.environ.pop(ACTION_ENV, None)
        self.replicas[name] = server
        return server

    def kill(self, name: str) -> None:
        server = self.replicas.pop(name)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=20)
        self.dead.append(server)

    def api(self, name: str | None = None) -> httpx.Client:
        if name is None:  # any replica serves the API; not a frozen one, though
            name = next(n for n, s in self.replicas.items() if not _stopped(s.process.pid))
        return self.replicas[name].admin()

    def release(self, app: str, tag: str, via: str | None = None) -> str:
        with self.api(via) as c:
            r = c.post(
                "/api/v1/releases",
                json={"artifacts": {app: f"registry.example/shop/{app}:{tag}"}, "alias": tag},
            )
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    def promotions(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        with self.api() as c:
            while True:
                params: dict[str, Any] = {"limit": 500}
                if cursor:
                    params["cursor"] = cursor
                page = c.get("/api/v1/promotions", params=params).json()
                items += page["items"]
                cursor = page.get("next_cursor")
                if not cursor:
                    return items

    def diagnose(self) -> str:
        """What a failing test needs to know: open promotions and each replica's log."""
        lines = [
            f"{p['id']} {p['environment']} {p['apps']} {p['state']}: {p['reason']}"
            for p in self.promotions()
            if p["state"] != "Succeeded"
        ]
        for name, server in self.replicas.items():
            lines += [f"--- {name} ---", server.logs()[-4000:]]
        return "\n".join(lines)

    def stop_all(self) -> None:
        for server in self.replicas.values():
            if server.process.poll() is None and _stopped(server.process.pid):
                os.kill(server.process.pid, signal.SIGCONT)
            server.stop()
        self.replicas.clear()


def _stopped(pid: int) -> bool:
    """The process is frozen by SIGSTOP (state T in /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")


@pytest.fixture
def fleet(
    tmp_path: Path, cluster: ClusterState, kube: Client, postgres_url: str
) -> Iterator[Fleet]:
    namespaces = {env: make_namespace(kube, env[:3]) for env in ENVS}
    bare = tmp_path / "gitops.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    files = {"shiplane.yaml": project_yaml(cluster.kubeconfig, namespaces)}
    files.update({f"apps/{a}/app.yaml": app_yaml(a) for a in APPS})
    for rel, content in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(content)
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "push", "-q", "origin", "main")
    with postgres_database(postgres_url) as db_url:
        f = Fleet(tmp_path, db_url, bare, kube, namespaces)
        try:
            yield f
        finally:
            f.stop_all()
            for ns in namespaces.values():
                kube.delete(Namespace, ns)


def _lease_holders(server: ServerProcess) -> dict[str, int]:
    """Promotion leases per replica, from /metrics (shiplane_promotion_leases)."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    holders: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("shiplane_promotion_leases{"):
            replica = line.split('replica="', 1)[1].split('"', 1)[0]
            holders[replica] = int(float(line.rsplit(" ", 1)[1]))
    return holders


def _replica_of(server: ServerProcess) -> str:
    with server.admin() as c:
        return str(c.get("/api/v1/replicas").json()["self"]["replica"])


def test_three_replicas_share_60_promotions_and_survive_two_kills(fleet: Fleet):
    for name in ("r1", "r2", "r3"):
        fleet.start(name)
    releases: list[str] = []
    kills = 0
    # 20 releases in waves of one per app, so that no auto-promotion supersedes another:
    # each wave goes dev -> staging -> prod before the next wave of the same apps.
    for wave, apps in enumerate([APPS, APPS, APPS, APPS[:2]]):
        wave_ids = [fleet.release(app, f"1.{wave}.{i}") for i, app in enumerate(apps)]
        releases += wave_ids
        if wave in (1, 2):
            # Kill the replica holding the most promotion leases while work is in flight,
            # then start it again: its promotions are taken over after the lease expires.
            def busy() -> tuple[str, int] | None:
                server = next(iter(fleet.replicas.values()))
                by_replica = _lease_holders(server)
                ids = {_replica_of(s): n for n, s in fleet.replicas.items()}
                ranked = sorted(
                    ((by_replica.get(rid, 0), n) for rid, n in ids.items()), reverse=True
                )
                return (ranked[0][1], ranked[0][0]) if ranked[0][0] > 0 else None

            victim, _held = wait_for(busy, timeout=60, interval=0.05, what="a busy replica")
            fleet.kill(victim)
            kills += 1
            fleet.start(victim)

        def wave_done(ids: list[str] = wave_ids) -> bool:
            done = [
                p
                for p in fleet.promotions()
                if p["release_id"] in ids and p["state"] == "Succeeded"
            ]
            return len(done) == len(ids) * len(ENVS)

        try:
            wait_for(wave_done, timeout=240, interval=0.5, what=f"wave {wave} to reach prod")
        except WaitTimeout:
            raise AssertionError(fleet.diagnose()) from None

    assert kills == 2
    promotions = fleet.promotions()
    assert len(promotions) == 60
    assert Counter(p["state"] for p in promotions) == {"Succeeded": 60}
    per_release = Counter((p["release_id"], p["environment"]) for p in promotions)
    assert set(per_release.values()) == {1}
    assert {r for r, _ in per_release} == set(releases)

    # Exactly one commit per promotion, although three processes worked on them.
    log = git(fleet.bare, "log", "--format=%B", "main")
    trailers = Counter(
        line.split(": ", 1)[1]
        for line in log.splitlines()
        if line.startswith("Shiplane-Promotion: ")
    )
    assert {p["id"]: trailers[p["id"]] for p in promotions} == {p["id"]: 1 for p in promotions}

    with fleet.api() as c:
        verified = c.get("/api/v1/audit/verify").json()
        events = c.get("/api/v1/audit", params={"limit": 500}).json()
        history = c.get("/api/v1/history", params={"limit": 500}).json()["items"]
    assert verified["ok"], verified
    transitions = Counter(
        (e["subject"], e["action"])
        for e in _all_events(fleet, events)
        if e["action"].startswith("promotion.")
    )
    assert {k: n for k, n in transitions.items() if n > 1} == {}
    assert not [h for h in history if h["status"] == "running"]
    # The work was shared: deploy runs were recorded by more than one replica.
    assert len({h["replica"] for h in history if h["status"] == "succeeded"}) >= 2

    # The cluster runs what git pins, in every environment.
    for env, ns in fleet.namespaces.items():
        for app in APPS:
            pin = git(fleet.bare, "show", f"main:envs/{env}/{app}/shiplane.pin.yaml")
            live = fleet.kube.get(Deployment, app, namespace=ns)
            assert f"ref: {live.spec.template.spec.containers[0].image}" in pin, (env, app)

    for server in fleet.dead:
        assert server.process.returncode == -signal.SIGKILL


def _all_events(fleet: Fleet, first: dict[str, Any]) -> list[dict[str, Any]]:
    events = list(first["items"])
    cursor = first.get("next_cursor")
    with fleet.api() as c:
        while cursor:
            page = c.get("/api/v1/audit", params={"limit": 500, "cursor": cursor}).json()
            events += page["items"]
            cursor = page.get("next_cursor")
    return events


def test_a_replica_paused_past_its_lease_does_not_write_when_it_resumes(fleet: Fleet):
    frozen = fleet.start("frozen", pause_at="deploy.before_push")
    release = fleet.release("a0", "2.0.0", via="frozen")
    # It froze itself after rendering and dry-running, right before pushing to git.
    wait_for(lambda: _stopped(frozen.process.pid), timeout=60, what="the replica to freeze")

    fleet.start("healthy")
    wait_for(
        lambda: (
            Counter(p["state"] for p in fleet.promotions() if p["release_id"] == release)
            == {"Succeeded": 3}
        ),
        timeout=120,
        interval=0.5,
        what="the healthy replica to take over and finish every promotion",
    )

    def snapshot() -> dict[str, Any]:
        with fleet.api("healthy") as c:
            audit = c.get("/api/v1/audit", params={"limit": 500}).json()["items"]
            runs = c.get("/api/v1/history", params={"limit": 500}).json()["items"]
            promotions = [c.get(f"/api/v1/promotions/{p['id']}").json() for p in fleet.promotions()]
            matrix = c.get("/api/v1/matrix").json()
        live = fleet.kube.get(Deployment, "a0", namespace=fleet.namespaces["dev"])
        return {
            "audit": [(e["seq"], e["hash"]) for e in audit],
            "runs": sorted((r["id"], r["status"], len(r["steps"])) for r in runs),
            "promotions": promotions,
            "matrix": matrix,
            "git": git(fleet.bare, "rev-parse", "main"),
            "deployment": (live.metadata.generation, live.spec.template.spec.containers[0].image),
        }

    before = snapshot()
    assert before["deployment"][1] == "registry.example/shop/a0:2.0.0"
    assert frozen.process.poll() is None and _stopped(frozen.process.pid)

    os.kill(frozen.process.pid, signal.SIGCONT)
    # It wakes up inside the deploy, notices its lease is gone, and gives up the work;
    # its heartbeat then finds the environment's deploy lease taken as well.
    wait_for(lambda: "promotion.lease_lost" in frozen.logs(), timeout=30, what="the lease loss")
    wait_for(
        lambda: (
            "deploy/dev/a0" in frozen.logs().split("promotion.lease_lost", 1)[1]
            or "leases.lost" in frozen.logs().split("promotion.lease_lost", 1)[1]
        ),
        timeout=30,
        what="the resumed replica's heartbeat",
    )
    # Still serving the API, yet it changed nothing.
    assert httpx.get(frozen.url + "/readyz", timeout=10).status_code == 200
    assert snapshot() == before
    logs = frozen.logs()
    assert "deploy.crashed" not in logs and "Traceback" not in logs, logs[-3000:]


def test_a_graceful_stop_hands_the_leases_back_at_once(fleet: Fleet):
    # A long TTL: if the leases were not handed back, the second replica would wait a
    # minute for them to expire before it could take the promotions over.
    first = fleet.start("first", ttl="60")
    release = fleet.release("a1", "3.0.0")
    replica = _replica_of(first)
    wait_for(
        lambda: _lease_holders(first).get(replica, 0) > 0,
        timeout=30,
        interval=0.02,
        what="the first replica to work on a promotion",
    )
    assert first.stop() == 0  # SIGTERM: a clean exit
    fleet.replicas.pop("first")
    second = fleet.start("second", ttl="60")
    with second.admin() as c:
        live = [r["replica"] for r in c.get("/api/v1/replicas").json()["replicas"]]
    assert live == [_replica_of(second)]  # the first one's liveness lease is gone too
    wait_for(
        lambda: (
            Counter(p["state"] for p in fleet.promotions() if p["release_id"] == release)
            == {"Succeeded": 3}
        ),
        timeout=40,
        interval=0.5,
        what="the second replica to finish the promotions well before the TTL",
    )
    with second.admin() as c:
        history = c.get("/api/v1/history", params={"limit": 100}).json()["items"]
    assert not [h for h in history if h["status"] == "running"]
