"""Benchmark: the promotion engine on a real local cluster, against a CI script.

Starts its own local cluster (under a temporary SHIPLANE_HOME; stopped at the end, also on
failure), a bare git repository holding the GitOps layout, and a SQLite store, and wires
the engine as `shiplane serve` does (Deployer + PromotionController driven by its own
loop, `controller.start()`, and the drift watch caches the deployer consults) for the
first two measurements; the third runs real `shiplane serve` processes. Each has a
baseline from the same run:

  overhead  --promotions promotions of one app (Deployment, Service, ConfigMap; plain
            renderer) into a one-environment project (no gates, no checks), each a new
            release (new image tag), one at a time: from `controller.request(...)` to
              - "applied": the Deployment's spec.template image in the cluster is the new
                release's (seen by a watch), and
              - "Verifying": the promotion's "-> Verifying" step, as the store records it
                (commit pushed, objects applied, pruned, inventory saved);
            the app's own rollout (health, verification) is not timed: each promotion is
            waited for until Succeeded before the next one starts.
            Baseline, interleaved with the promotions: what a CI script does for the same
            change: write the pin, `git commit && git push` (its own bare repository), and
            `kubectl apply --server-side -f` of the same objects (another namespace).
  train     a release of --train apps (3 objects each) promoted into one environment as
            one promotion and one commit: request -> every Deployment runs its new image
            (watch) and -> Verifying; first the creation, then two updates. Baseline:
            `kubectl apply --server-side -f` of all the apps' objects in one call.
  throughput  sustained promotions per minute through real `shiplane serve` processes:
            1 replica on SQLite (the baseline), then 1, 2 and 3 replicas sharing one
            PostgreSQL database, the same workload each (fresh database, GitOps repository
            and namespaces): 6 apps, dev -> staging -> prod, all autoPromote, health-only
            verification; --rounds releases per app (one app per release, a new image
            tag), each app's next release sent as soon as its previous one has started
            deploying into prod; timed from the first release to the last promotion
            Succeeded.
  abort     (issue 15; bench/promotion_abort.py) a canary at its first weight whose
            analysis records a failed measurement -> all traffic on stable as a watch on
            the objects sees it (replicas mode: the canary Deployment deleted; Gateway API
            mode: the HTTPRoute's weight back on the stable Service), p50 and p95 over
            --aborts (20) aborts per mode.

    .venv/bin/python bench/promotion.py [--promotions 100] [--train 50] [--rounds 10]
    .venv/bin/python bench/promotion.py --quick      # smoke run: 20 promotions, 10 apps, 2 rounds
    .venv/bin/python bench/promotion.py --profile    # + cProfile of 20 more promotions
    .venv/bin/python bench/promotion.py --only throughput   # one part (repeatable)
    .venv/bin/python bench/promotion.py --only abort        # the canary's abort latency
    .venv/bin/python bench/promotion.py --target flux --promotions 50
                                      # hand-off to Flux beside Shiplane's own sync (issue 17)

Goals (issue 5): promotion overhead p50 <= 300 ms; a 50-app release train <= 3 s.
Issue 6: throughput figures and ratios against the single SQLite replica (no goal).
Issue 15: a canary's abort puts all traffic on stable within 1 s p95.
Issue 17: `--target flux` (bench/promotion_flux.py) runs only the hand-off part: request ->
Flux reports Ready at the new commit, p50/p95 over --promotions (50), beside
`deploy.via: shiplane` (request -> healthy) in the same run (no goal: Flux's own latency).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import math
import os
import pstats
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from harness import Kubectl, Report, git, local_cluster, p50_p95, quantile, say, three_object_app
from promotion_abort import abort_phase
from promotion_flux import flux_phase

CLUSTER = "bench-promotion"
ONE_ENV, TRAIN_ENV = "bench", "train"
NAMESPACES = {
    ONE_ENV: "bench-promo",
    "one-kubectl": "bench-promo-kubectl",
    TRAIN_ENV: "bench-train",
    "train-kubectl": "bench-train-kubectl",
}
APP = "web"
ACTOR_NAME = "bench"
PARTS = ("overhead", "train", "throughput", "abort")


# --- the GitOps repository ----------------------------------------------------------------


def app_yaml(name: str) -> str:
    return three_object_app(name)


def train_name(n: int) -> str:
    return f"t{n:03d}"


def image(app: str, tag: str) -> str:
    return f"registry.example/bench/{app}:{tag}"


def project_yaml(kubeconfig: Path, train: int) -> str:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: bench",
        "clusters:",
        f"  local: {{kubeconfig: {kubeconfig}}}",
        "environments:",
        f"  {ONE_ENV}: {{cluster: local, namespace: {NAMESPACES[ONE_ENV]}}}",
        f"  {TRAIN_ENV}: {{cluster: local, namespace: {NAMESPACES[TRAIN_ENV]}}}",
        "apps:",
    ]
    for app in [APP] + [train_name(n) for n in range(train)]:
        lines += [
            f"  {app}:",
            f"    images: [registry.example/bench/{app}]",
            f"    manifests: {{path: apps/{app}, render: plain}}",
        ]
    return "\n".join(lines) + "\n"


def new_repo(root: Path, name: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A bare repository `name`.git with one commit of `files`, and a checkout of it."""
    bare, work = root / f"{name}.git", root / f"{name}-checkout"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    for rel, content in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "bench: apps and environments")
    git(work, "push", "-q", "origin", "main")
    return bare, work


# --- the local cluster --------------------------------------------------------------------


def epoch(when: datetime) -> float:
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


# --- engine wiring ------------------------------------------------------------------------


@dataclass
class Engine:
    db: Any
    project: Any
    deployer: Any
    controller: Any
    drift: Any


def make_engine(root: Path, bare: Path, checkout: Path) -> Engine:
    from shiplane.config import load_project
    from shiplane.engine.clusters import ClusterPool
    from shiplane.engine.deploy import Deployer
    from shiplane.engine.drift import DriftController
    from shiplane.engine.promotions import PromotionController
    from shiplane.gitops.workspace import GitWorkspace
    from shiplane.store.db import Database

    project = load_project(checkout / "shiplane.yaml")
    db = Database.from_url(f"sqlite:///{root / 'shiplane.db'}")
    db.migrate()
    clusters = ClusterPool(project, checkout)
    workspace = GitWorkspace(str(bare), root / "git-cache")
    deployer = Deployer(db, workspace, project, clusters, health_timeout=120)
    controller = PromotionController(db, project, deployer, clusters, health_timeout=120)
    # The drift watch caches, wired to the deployer as `serve` wires them: apply skips the
    # objects whose dry-run answered exactly the live object the cache holds.
    drift = DriftController(db, project)
    deployer.on_applied = drift.on_applied
    deployer.live_objects = drift.live
    return Engine(db, project, deployer, controller, drift)


def create_release(db: Any, artifacts: dict[str, str]) -> Any:
    """A release as CI creates it (POST /releases does the same store call)."""
    from shiplane.store import releases

    with db.session() as s:
        release, created = releases.create_release(
            s, artifacts=artifacts, alias=None, labels={}, creator="ci"
        )
    assert created, "each measured promotion needs a new release"
    return release


class ImageWatch:
    """When each (Deployment, image) was first seen in a namespace: a watch, in the
    benchmark's own client, on the same event loop as the engine."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.seen: dict[tuple[str, str], float] = {}
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        from lightkube.resources.apps_v1 import Deployment

        while True:  # a watch can end (timeout on the server side): start it again
            async for _kind, obj in self.client.watch(Deployment, namespace=self.namespace):
                now = time.perf_counter()
                for container in obj.spec.template.spec.containers:
                    self.seen.setdefault((obj.metadata.name, container.image), now)
                self.changed.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"watch {self.namespace}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def wait_all(self, wanted: list[tuple[str, str]], timeout: float = 120) -> float:  # noqa: ASYNC109
        """The time the last of `wanted` was seen."""
        deadline = time.monotonic() + timeout
        while not all(w in self.seen for w in wanted):
            self.changed.clear()
            if time.monotonic() > deadline:
                missing = [w for w in wanted if w not in self.seen]
                raise TimeoutError(f"not seen after {timeout}s: {missing[:3]}...")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=1)
        return max(self.seen[w] for w in wanted)


async def wait_final(engine: Engine, promotion_id: str, timeout: float = 180) -> Any:  # noqa: ASYNC109
    """Poll the store (untimed) until the promotion has finished."""
    from shiplane.store import promotions as store

    deadline = time.monotonic() + timeout
    while True:

        def get() -> Any:
            with engine.db.session(readonly=True) as s:
                return store.get_promotion(s, promotion_id)

        record = await asyncio.to_thread(get)
        if record.state in ("Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"):
            if record.state != "Succeeded":
                raise RuntimeError(f"{promotion_id} is {record.state}: {record.reason}")
            return record
        if time.monotonic() > deadline:
            raise TimeoutError(f"{promotion_id} still {record.state} ({record.reason})")
        await asyncio.sleep(0.1)


@dataclass
class Timing:
    """One promotion's timeline, in seconds after the request call started."""

    applied: float  # last Deployment of the promotion seen with its new image
    verifying: float  # the "-> Verifying" step as recorded
    phases: dict[str, float]  # request->deploying, deploy run steps...


def timeline(
    engine: Engine, promotion_id: str, request_wall: float
) -> tuple[float, dict[str, float]]:
    """The Verifying time and a breakdown of where the time went, from the store: the
    promotion's steps and its deploy run's steps (each with start and end times)."""
    from shiplane.store import deploys
    from shiplane.store import promotions as store

    with engine.db.session(readonly=True) as s:
        steps = {st.name: st for st in store.list_steps(s, promotion_id)}
        environment = store.get_promotion(s, promotion_id).environment  # type: ignore[union-attr]
        page = deploys.list_runs(s, environment=environment, limit=100)
        runs = [r for r in page.items if r.group_id == promotion_id]
    verifying = epoch(steps["-> Verifying"].started_at) - request_wall
    deploying = epoch(steps["-> Deploying"].started_at) - request_wall
    phases: dict[str, float] = {"request -> Deploying (queue, gates)": deploying}
    run = runs[0]
    run_start = epoch(run.started_at) - request_wall
    phases["Deploying -> deploy run started"] = run_start - deploying
    cursor = run_start
    for step in run.steps:
        start = epoch(step.started_at) - request_wall
        end = epoch(step.finished_at or step.started_at) - request_wall
        if start > cursor + 0.0005:
            gap = f"(between steps, before {step.name})"
            phases[gap] = phases.get(gap, 0) + start - cursor
        phases[step.name] = phases.get(step.name, 0) + end - start
        cursor = max(cursor, end)
    phases["last step -> Verifying (finish run, transition)"] = verifying - cursor
    return verifying, phases


async def promote(engine: Engine, release: Any, environment: str) -> tuple[str, float, float]:
    """Request a promotion as the API does; (promotion id, perf_counter, wall) at the call."""
    from shiplane.engine.promotions import Actor

    wall, started = time.time(), time.perf_counter()
    record = await engine.controller.request(
        release.id, environment, actor=Actor(ACTOR_NAME), reason="bench"
    )
    return record.id, started, wall


def print_breakdown(title: str, breakdowns: list[dict[str, float]]) -> None:
    keys: dict[str, None] = {}
    for b in breakdowns:
        keys.update(dict.fromkeys(b))
    say(f"{title} (median over {len(breakdowns)}, ms):")
    for key in keys:
        values = [b.get(key, 0.0) * 1000 for b in breakdowns]
        say(f"    {statistics.median(values):7.1f}  {key}")


# --- 1. promotion overhead ----------------------------------------------------------------


async def overhead_phase(
    engine: Engine,
    kube: Any,
    kubectl: Kubectl,
    root: Path,
    count: int,
    report: Report,
    profile: bool,
) -> None:
    from shiplane.engine.deploy import pin_for
    from shiplane.gitops import gitcmd
    from shiplane.gitops.pins import dump_pin, pin_path

    watch = ImageWatch(kube, NAMESPACES[ONE_ENV])
    watch.start()
    # The CI script's own repository and checkout (a copy of the GitOps layout).
    _, ci_work = new_repo(root, "ci", {"README": "CI's GitOps checkout\n"})
    ci_dir = root / "ci-objects"
    ci_dir.mkdir()
    try:
        # Warm-up, untimed: the engine as a running server (git clone, API discovery,
        # namespace, the app's objects created), kubectl with its discovery cache.
        release = create_release(engine.db, {APP: image(APP, "0.0.1")})
        pid, _, _ = await promote(engine, release, ONE_ENV)
        await wait_final(engine, pid)
        objects = await engine.deployer.render(ONE_ENV, APP)
        kubectl.run("api-resources")

        def ci_files(tag: str, rel: Any) -> tuple[Path, bytes]:
            docs = []
            for obj in objects:
                obj = json.loads(json.dumps(obj))
                obj["metadata"]["namespace"] = NAMESPACES["one-kubectl"]
                if obj["kind"] == "Deployment":
                    obj["spec"]["template"]["spec"]["containers"][0]["image"] = image(APP, tag)
                docs.append(obj)
            path = ci_dir / f"{tag}.yaml"
            path.write_text(yaml.safe_dump_all(docs))
            return path, dump_pin(pin_for(rel, APP))

        def ci_run(path: Path, pin: bytes, tag: str) -> float:
            started = time.perf_counter()
            target = ci_work / pin_path(ONE_ENV, APP)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(pin)
            git(ci_work, "add", "-A")
            git(ci_work, "commit", "-q", "-m", f"promote {APP} {tag} to {ONE_ENV}")
            git(ci_work, "push", "-q", "origin", "main")
            kubectl.apply(path)
            return time.perf_counter() - started

        path, pin = ci_files("0.0.1", release)
        ci_run(path, pin, "0.0.1")  # warm-up: creates the baseline's objects

        applied_ms: list[float] = []
        verifying_ms: list[float] = []
        baseline_ms: list[float] = []
        breakdowns: list[dict[str, float]] = []
        git_before = sum(gitcmd.STARTED.values())
        wall_started = time.perf_counter()
        for k in range(count):
            tag = f"1.0.{k}"
            release = create_release(engine.db, {APP: image(APP, tag)})
            # Baseline first (each pair under the same load), then Shiplane.
            path, pin = ci_files(tag, release)
            baseline_ms.append(await asyncio.to_thread(ci_run, path, pin, tag) * 1000)
            pid, started, wall = await promote(engine, release, ONE_ENV)
            seen = await watch.wait_all([(APP, image(APP, tag))])
            await wait_final(engine, pid)  # the rollout, untimed
            verifying, phases = await asyncio.to_thread(timeline, engine, pid, wall)
            applied_ms.append((seen - started) * 1000)
            verifying_ms.append(verifying * 1000)
            breakdowns.append(phases)
            if (k + 1) % 20 == 0:
                say(
                    f"{k + 1}/{count} promotions: applied {p50_p95(applied_ms)}; "
                    f"CI script {p50_p95(baseline_ms)}"
                )
        total = time.perf_counter() - wall_started
        git_processes = (sum(gitcmd.STARTED.values()) - git_before) / max(count, 1)
        print_breakdown("where a promotion's time goes (request -> Verifying)", breakdowns)
        base_p50, base_p95 = quantile(baseline_ms, 50), quantile(baseline_ms, 95)
        report.add(
            f"overhead: CI script, pin commit+push + kubectl apply ({count}x)",
            p50_p95(baseline_ms),
        )
        p50 = quantile(applied_ms, 50)
        report.add(
            f"overhead: promotion request -> objects applied ({count} promotions)",
            p50_p95(applied_ms),
            f"{p50 / base_p50:.2f}x the CI script (p50), "
            f"{quantile(applied_ms, 95) / base_p95:.2f}x (p95)",
            f"{'ok' if p50 <= 300 else 'MISSED'} (p50 <= 300 ms)",
        )
        report.add(
            "overhead: promotion request -> Verifying recorded",
            p50_p95(verifying_ms),
            f"{quantile(verifying_ms, 50) / base_p50:.2f}x the CI script (p50)",
        )
        report.add("overhead: git processes per promotion", f"{git_processes:.1f}")
        say(f"(the {count} promotions with their rollouts took {total:.0f} s)")

        if profile:
            await profile_promotions(engine, watch, 20)
    finally:
        await watch.stop()


async def profile_promotions(engine: Engine, watch: ImageWatch, count: int) -> None:
    """cProfile of the event loop's thread over `count` more promotions (store writes run
    in worker threads, which cProfile does not see: they show as waits here)."""
    profiler = cProfile.Profile()
    for k in range(count):
        tag = f"9.0.{k}"
        release = create_release(engine.db, {APP: image(APP, tag)})
        profiler.enable()
        pid, _, _ = await promote(engine, release, ONE_ENV)
        await watch.wait_all([(APP, image(APP, tag))])
        profiler.disable()
        await wait_final(engine, pid)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    print(out.getvalue())


# --- 2. release train ---------------------------------------------------------------------


async def train_phase(
    engine: Engine, kube: Any, kubectl: Kubectl, root: Path, apps: int, report: Report
) -> None:
    names = [train_name(n) for n in range(apps)]
    watch = ImageWatch(kube, NAMESPACES[TRAIN_ENV])
    watch.start()
    out = root / "train-objects"
    try:
        for run, tag in enumerate(["2.0.0", "2.0.1", "2.0.2"]):
            what = "creation" if run == 0 else f"update {run}"
            release = create_release(engine.db, {a: image(a, tag) for a in names})
            pid, started, wall = await promote(engine, release, TRAIN_ENV)
            seen = await watch.wait_all([(a, image(a, tag)) for a in names])
            await wait_final(engine, pid, timeout=300)
            verifying, phases = await asyncio.to_thread(timeline, engine, pid, wall)
            applied = seen - started
            print_breakdown(f"train {what}: where the time goes", [phases])

            # Baseline: the same objects (Shiplane's rendering, other namespace) in one
            # kubectl call, for the same change (creation, then an image update).
            out.mkdir(exist_ok=True)
            for app in names:
                docs = []
                for obj in await engine.deployer.render(TRAIN_ENV, app):
                    obj = json.loads(json.dumps(obj))
                    obj["metadata"]["namespace"] = NAMESPACES["train-kubectl"]
                    docs.append(obj)
                (out / f"{app}.yaml").write_text(yaml.safe_dump_all(docs))
            await wait_rolled_out(kube, NAMESPACES["train-kubectl"], apps if run else 0)
            t0 = time.perf_counter()
            await asyncio.to_thread(kubectl.apply, out)
            single = time.perf_counter() - t0
            await wait_rolled_out(kube, NAMESPACES["train-kubectl"], apps)
            report.add(f"train: kubectl apply, one call, {apps} apps ({what})", f"{single:.2f} s")
            report.add(
                f"train: {apps}-app release, one promotion ({what}) -> all applied",
                f"{applied:.2f} s (Verifying at {verifying:.2f} s)",
                f"{applied / single:.2f}x the single kubectl call",
                f"{'ok' if applied <= 3 else 'MISSED'} (<= 3 s)",
            )
    finally:
        await watch.stop()


async def wait_rolled_out(kube: Any, namespace: str, expected: int, limit: float = 180) -> None:
    """Until every Deployment of `namespace` is rolled out, so that one side's background
    work (controllers, kwok) does not slow down the other's measurement."""
    from lightkube.resources.apps_v1 import Deployment

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready = 0
        async for d in kube.list(Deployment, namespace=namespace):
            st = d.status
            if (
                st is not None
                and st.observedGeneration == d.metadata.generation
                and (st.updatedReplicas or 0) == d.spec.replicas
                and (st.availableReplicas or 0) == d.spec.replicas
                and (st.replicas or 0) == d.spec.replicas
            ):
                ready += 1
        if ready >= expected:
            return
        await asyncio.sleep(0.5)
    say(f"warning: Deployments of {namespace} not rolled out after {limit:.0f}s")


# --- 3. sustained throughput: shiplane serve replicas on SQLite and PostgreSQL ------------

TP_APPS = [f"app{n}" for n in range(1, 7)]
TP_ENVS = ["dev", "staging", "prod"]
FINISHED = {"Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"}
QUEUED = {"Pending", "Waiting"}
TP_TIMEOUT = 900.0  # per configuration, from the first measured release


@dataclass
class TpConfig:
    label: str  # "sqlite x1"
    backend: str  # sqlite | postgresql
    replicas: int
    attempt: int = 1

    @property
    def slug(self) -> str:
        retry = f"-a{self.attempt}" if self.attempt > 1 else ""
        return f"tp-{'sq' if self.backend == 'sqlite' else 'pg'}{self.replicas}{retry}"


@dataclass
class TpResult:
    config: TpConfig
    promotions: int
    seconds: float
    lead_p50: float  # a release's POST -> its prod promotion Succeeded, seconds
    cpu_replicas: float  # CPU seconds of all replicas during the measured window
    machine_busy: float  # share of all CPUs busy during the window (0..1)
    load: tuple[float, float, float]
    by_replica: dict[str, int]  # deploy runs per replica
    phases: dict[str, float]  # medians, seconds
    anomalies: list[str]

    @property
    def per_minute(self) -> float:
        return self.promotions / self.seconds * 60


@dataclass
class TpFailure:
    config: TpConfig
    error: str


def tp_project_yaml(kubeconfig: Path, prefix: str) -> str:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: throughput",
        "clusters:",
        f"  local: {{kubeconfig: {kubeconfig}}}",
        "environments:",
        f"  dev: {{cluster: local, namespace: {prefix}-dev, autoPromote: true}}",
        f"  staging: {{cluster: local, namespace: {prefix}-staging, autoPromote: true,"
        " after: [dev]}",
        f"  prod: {{cluster: local, namespace: {prefix}-prod, autoPromote: true,"
        " after: [staging]}",
        "apps:",
    ]
    for app in TP_APPS:
        lines += [
            f"  {app}:",
            f"    images: [registry.example/bench/{app}]",
            f"    manifests: {{path: apps/{app}, render: plain}}",
        ]
    return "\n".join(lines) + "\n"


def parse_time(value: str) -> float:
    return epoch(datetime.fromisoformat(value))


class TpApi:
    """The benchmark's HTTP side: one admin client per replica, requests spread round
    robin over them (as a load balancer in front of the replicas would)."""

    def __init__(self, urls: list[str], token: str) -> None:
        import httpx

        auth = {"Authorization": f"Bearer {token}"}
        self.clients = [httpx.Client(base_url=u, headers=auth, timeout=60) for u in urls]
        self.turn = 0

    def next(self) -> Any:
        self.turn += 1
        return self.clients[self.turn % len(self.clients)]

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def release(self, artifacts: dict[str, str], alias: str) -> str:
        response = self.next().post(
            "/api/v1/releases", json={"artifacts": artifacts, "alias": alias}
        )
        if response.status_code != 201:
            raise RuntimeError(f"POST /releases: {response.status_code} {response.text}")
        release_id: str = response.json()["id"]
        return release_id

    def pages(self, path: str) -> list[dict[str, Any]]:
        client, items, cursor = self.next(), [], None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            response = client.get(path, params=params)
            response.raise_for_status()
            page = response.json()
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def promotions(self) -> list[dict[str, Any]]:
        return self.pages("/api/v1/promotions")

    def steps(self, promotion_id: str) -> list[dict[str, Any]]:
        response = self.next().get(f"/api/v1/promotions/{promotion_id}")
        response.raise_for_status()
        steps: list[dict[str, Any]] = response.json()["steps"]
        return steps


def wait_promotions(
    api: TpApi,
    wanted: set[str],
    expected: int,
    what: str,
    timeout: float,
    on_poll: Any = None,
) -> list[dict[str, Any]]:
    """Poll the promotions (every 0.5 s) until `expected` promotions of the releases in
    `wanted` (which may grow) have Succeeded; fail on any other end or on the deadline.
    Prints progress every 5 s."""
    deadline = time.monotonic() + timeout
    said = 0.0
    while True:
        mine = [p for p in api.promotions() if p["release_id"] in wanted]
        if on_poll is not None:
            on_poll(mine)
        bad = [p for p in mine if p["state"] in FINISHED and p["state"] != "Succeeded"]
        if bad:
            first = bad[0]
            raise RuntimeError(
                f"{what}: {len(bad)} promotion(s) did not succeed, e.g. {first['id']} into "
                f"{first['environment']}: {first['state']} ({first['reason']})"
            )
        done = sum(p["state"] == "Succeeded" for p in mine)
        if time.monotonic() - said >= 5 or done >= expected:
            said = time.monotonic()
            states: dict[str, int] = {}
            for p in mine:
                states[p["state"]] = states.get(p["state"], 0) + 1
            say(f"  {what}: {done}/{expected} promotions Succeeded  {states}")
        if done >= expected:
            return mine
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: only {done}/{expected} Succeeded after {timeout:.0f}s")
        time.sleep(0.5)


def run_throughput_config(
    config: TpConfig,
    root: Path,
    kubeconfig: Path,
    database_url: str,
    rounds: int,
    lease_ttl: float,
) -> TpResult:
    import secrets

    from harness import machine_cpu, start_replicas, stop_replicas

    say(f"== throughput: {config.label} ({database_url.split('://')[0]}, lease TTL {lease_ttl:g}s)")
    work = root / config.slug
    work.mkdir(parents=True, exist_ok=True)
    files = {"shiplane.yaml": tp_project_yaml(kubeconfig, config.slug)}
    for app in TP_APPS:
        files[f"apps/{app}/app.yaml"] = three_object_app(app)
    bare, _ = new_repo(work, "gitops", files)
    token = "shp_bench_" + secrets.token_urlsafe(24)
    names = [f"{config.slug}-r{n}" for n in range(1, config.replicas + 1)]
    serve_args = ["--repo", str(bare), "--health-timeout", "120", "--lease-ttl", f"{lease_ttl:g}"]
    started = time.perf_counter()
    replicas = start_replicas(names, work, database_url, token, serve_args)
    say(f"{config.replicas} replica(s) ready in {time.perf_counter() - started:.1f}s")
    api = TpApi([r.url for r in replicas], token)
    anomalies: list[str] = []
    try:
        # Warm-up, untimed: one release of all six apps through the three environments
        # (namespaces and objects created, git clones, API discovery, on whichever
        # replicas take the work).
        warm = api.release({a: image(a, "0.0.0") for a in TP_APPS}, "warm-up")
        wait_promotions(api, {warm}, len(TP_ENVS), f"{config.label} warm-up", 300)

        # Measured: each app is a CI pipeline that sends its next release as soon as its
        # previous one has started deploying into prod (see the README: auto-promotions
        # supersede queued older ones, so sending faster would turn work into
        # Superseded promotions instead of measuring it).
        total = rounds * len(TP_APPS)
        posted: dict[str, tuple[str, float]] = {}  # release id -> (app, wall time of POST)
        current: dict[str, str] = {}
        sent = dict.fromkeys(TP_APPS, 0)

        def send(app: str) -> None:
            tag = f"1.{sent[app]}.0"
            wall = time.time()
            release_id = api.release({app: image(app, tag)}, f"{app}-{tag}")
            posted[release_id] = (app, wall)
            current[app] = release_id
            sent[app] += 1

        def feed(mine: list[dict[str, Any]]) -> None:
            in_prod = {
                p["release_id"]
                for p in mine
                if p["environment"] == TP_ENVS[-1] and p["state"] not in QUEUED
            }
            for app in TP_APPS:
                if sent[app] < rounds and current[app] in in_prod:
                    send(app)

        cpu_before = sum(r.cpu_seconds() for r in replicas)
        machine_before = machine_cpu()
        t0 = time.time()
        for app in TP_APPS:
            send(app)
        wanted = set(posted)  # grows as `send` adds releases: the same set object

        def on_poll(mine: list[dict[str, Any]]) -> None:
            feed(mine)
            wanted.update(posted)

        expected = total * len(TP_ENVS)
        mine = wait_promotions(api, wanted, expected, config.label, TP_TIMEOUT, on_poll=on_poll)
        cpu = sum(r.cpu_seconds() for r in replicas) - cpu_before
        machine_after = machine_cpu()
        load = os.getloadavg()
        end = max(parse_time(p["updated_at"]) for p in mine)
        seconds = end - t0
        busy = (machine_after[0] - machine_before[0]) / max(
            1.0, machine_after[1] - machine_before[1]
        )

        # Checks: one promotion per (release, environment), nothing else in the store.
        seen: dict[tuple[str, str], int] = {}
        for p in mine:
            key = (p["release_id"], p["environment"])
            seen[key] = seen.get(key, 0) + 1
        doubles = {k: n for k, n in seen.items() if n > 1}
        if doubles or len(mine) != expected:
            anomalies.append(f"{len(mine)} promotions for {expected} expected; doubles: {doubles}")
        leads = []
        for release_id, (_app, wall) in posted.items():
            prod = [p for p in mine if p["release_id"] == release_id and p["environment"] == "prod"]
            leads.append(parse_time(prod[0]["updated_at"]) - wall)

        phases, by_replica = tp_breakdown(api, mine, anomalies)
    finally:
        api.close()
        codes = stop_replicas(replicas)
        for replica in replicas:
            anomalies += log_anomalies(replica)
        killed = [name for name, code in codes.items() if code is None]
        if killed:
            anomalies.append(f"had to SIGKILL {killed} after the SIGTERM deadline")
        say(f"replicas stopped (exit codes {codes})")
    result = TpResult(
        config,
        expected,
        seconds,
        statistics.median(leads),
        cpu,
        busy,
        load,
        by_replica,
        phases,
        anomalies,
    )
    say(
        f"{config.label}: {expected} promotions in {seconds:.1f}s = "
        f"{result.per_minute:.1f}/min; release lead time p50 {result.lead_p50:.1f}s; "
        f"replicas' CPU {cpu:.1f}s; machine {busy:.0%} busy; runs by replica {by_replica}"
    )
    for anomaly in anomalies:
        say(f"ANOMALY ({config.label}): {anomaly}")
    return result


def tp_breakdown(
    api: TpApi, mine: list[dict[str, Any]], anomalies: list[str]
) -> tuple[dict[str, float], dict[str, int]]:
    """Where a promotion's time goes (medians, from the recorded steps and deploy runs),
    and how many deploy runs each replica did. Read after the measured window."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in api.pages("/api/v1/history"):
        runs.setdefault(run["group_id"], []).append(run)
    by_replica: dict[str, int] = {}
    parts: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        parts.setdefault(name, []).append(value)

    for p in mine:
        steps = api.steps(p["id"])
        first = {}
        for step in steps:
            first.setdefault(step["name"], parse_time(step["started_at"]))
        mine_runs = runs.get(p["id"], [])
        if len(mine_runs) != 1:
            anomalies.append(f"promotion {p['id']} has {len(mine_runs)} deploy runs")
        for run in mine_runs:
            by_replica[run.get("replica") or "?"] = by_replica.get(run.get("replica") or "?", 0) + 1
        if not mine_runs or "-> Deploying" not in first or "-> Verifying" not in first:
            continue
        run = mine_runs[0]
        created, deploying = parse_time(p["created_at"]), first["-> Deploying"]
        run_start, run_end = parse_time(run["started_at"]), parse_time(run["finished_at"])
        verifying, done = first["-> Verifying"], parse_time(p["updated_at"])
        add("created -> Deploying (queue, claim, gates)", deploying - created)
        add("Deploying -> deploy run starts (deploy/<env>/<app> lease)", run_start - deploying)
        add("deploy run (git, render, dry-run, commit+push, apply)", run_end - run_start)
        add("run finished -> Verifying", verifying - run_end)
        add("Verifying -> Succeeded (health of the rollout)", done - verifying)
        add("total: created -> Succeeded", done - created)
    return {k: statistics.median(v) for k, v in parts.items()}, by_replica


def log_anomalies(replica: Any) -> list[str]:
    """Error-level lines, tracebacks and lease losses in a replica's log."""
    found = []
    for line in replica.logs().splitlines():
        low = line.lower()
        if (
            '"level": "error"' in low
            or '"level":"error"' in low
            or "traceback" in low
            or "lease_lost" in low
            or " error " in low
            or "critical" in low
        ):
            found.append(line[:300])
    if not found:
        return []
    return [f"{replica.name}: {len(found)} suspicious log line(s), first: {found[0]}"]


def throughput_phase(
    root: Path, state: Any, args: argparse.Namespace, report: Report
) -> list[TpResult | TpFailure]:
    """Every configuration in turn, the SQLite baseline first. A configuration that fails
    is reported as such and the next one still runs; the replicas' logs (and the
    PostgreSQL server's) are then kept in a directory printed at the end."""
    import shutil

    from harness import postgres_database, postgres_server

    work = root / "throughput"
    work.mkdir()
    keep = Path(tempfile.mkdtemp(prefix="shiplane-bench-throughput-logs-"))
    results: list[TpResult | TpFailure] = []

    def run(config: TpConfig, database: Any) -> None:
        """Up to --attempts tries (each with a fresh database, repository and
        namespaces); every failed try is reported."""
        result: TpResult | TpFailure | None = None
        for attempt in range(1, args.attempts + 1):
            tried = TpConfig(config.label, config.backend, config.replicas, attempt)
            with database(tried) as url:
                try:
                    result = run_throughput_config(
                        tried, work, state.kubeconfig, url, args.rounds, args.lease_ttl
                    )
                except Exception as exc:
                    say(f"FAILED ({tried.label}, attempt {attempt}): {exc}")
                    result = TpFailure(tried, str(exc))
                    failures.append(result)
            if isinstance(result, TpFailure) or result.anomalies:
                for log in (work / tried.slug).glob("*/server.log"):
                    shutil.copyfile(log, keep / f"{log.parent.name}.log")
            if isinstance(result, TpResult):
                break
        assert result is not None
        results.append(result)

    @contextlib.contextmanager
    def sqlite_file(config: TpConfig) -> Any:
        (work / config.slug).mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{work / config.slug / 'shiplane.db'}"

    failures: list[TpFailure] = []
    run(TpConfig("sqlite x1", "sqlite", 1), sqlite_file)
    with postgres_server(args.postgres_url, keep_log=keep / "postgresql.log") as server:
        for n in range(1, args.max_replicas + 1):
            run(
                TpConfig(f"postgresql x{n}", "postgresql", n),
                lambda _config: postgres_database(server, "bench_tp"),
            )
    for failure in failures:
        say(f"failed attempt: {failure.config.slug}: {failure.error[:400]}")
    base = results[0] if isinstance(results[0], TpResult) else None
    for r in results:
        if isinstance(r, TpFailure):
            report.add(f"throughput: {r.config.label}", f"FAILED: {r.error[:200]}")
            continue
        ratio = f"{r.per_minute / base.per_minute:.2f}x sqlite x1" if base else ""
        report.add(
            f"throughput: {r.config.label} ({r.promotions} promotions)",
            f"{r.per_minute:.1f}/min ({r.seconds:.1f} s; lead p50 {r.lead_p50:.1f} s)",
            "baseline" if r is base else ratio,
        )
    print_throughput([r for r in results if isinstance(r, TpResult)])
    if failures or any(isinstance(r, TpFailure) or r.anomalies for r in results):
        say(f"logs of the failed configurations and of PostgreSQL kept in {keep}")
    else:
        shutil.rmtree(keep, ignore_errors=True)
    return results


def print_throughput(results: list[TpResult]) -> None:
    if not results:
        return
    base = results[0] if results[0].config.backend == "sqlite" else None
    print()
    header = (
        "config",
        "promotions",
        "seconds",
        "per min",
        "vs sqlite x1",
        "lead p50 s",
        "replica CPU s/promotion",
        "machine busy",
        "load 1m",
        "deploy runs by replica",
    )
    rows = [header]
    for r in results:
        rows.append(
            (
                r.config.label,
                str(r.promotions),
                f"{r.seconds:.1f}",
                f"{r.per_minute:.1f}",
                f"{r.per_minute / base.per_minute:.2f}x" if base else "",
                f"{r.lead_p50:.1f}",
                f"{r.cpu_replicas / r.promotions:.2f}",
                f"{r.machine_busy:.0%}",
                f"{r.load[0]:.1f}",
                " ".join(f"{k.rsplit('-', 1)[-1]}={v}" for k, v in sorted(r.by_replica.items())),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print("\nwhere a promotion's time goes (median seconds):")
    keys = list(dict.fromkeys(k for r in results for k in r.phases))
    width = max(len(k) for k in keys) if keys else 0
    print("  " + "".ljust(width) + "".join(f"  {r.config.label:>15}" for r in results))
    for key in keys:
        cells = "".join(f"  {r.phases.get(key, float('nan')):15.2f}" for r in results)
        print("  " + key.ljust(width) + cells)


# --- main ---------------------------------------------------------------------------------


async def run_all(root: Path, state: Any, args: argparse.Namespace, report: Report) -> None:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    from shiplane.api.logging import configure_logging

    configure_logging(logging.WARNING)
    files = {"shiplane.yaml": project_yaml(state.kubeconfig, args.train)}
    for app in [APP] + [train_name(n) for n in range(args.train)]:
        files[f"apps/{app}/app.yaml"] = app_yaml(app)
    bare, checkout = new_repo(root, "gitops", files)
    engine = make_engine(root, bare, checkout)
    kube = AsyncClient(KubeConfig.from_file(str(state.kubeconfig)))
    kubectl = Kubectl(state.kubeconfig, root / "kube-cache")
    for variant in ("one-kubectl", "train-kubectl"):
        await kube.create(Namespace(metadata=ObjectMeta(name=NAMESPACES[variant])))
    engine.controller.start()  # the product's loop, as in `shiplane serve`
    try:
        if "overhead" in args.only:
            await overhead_phase(engine, kube, kubectl, root, args.promotions, report, args.profile)
        if "train" in args.only:
            await train_phase(engine, kube, kubectl, root, args.train, report)
    finally:
        await engine.controller.stop()
        await engine.drift.stop()
        await engine.deployer.clusters.close()
        await kube.close()
        engine.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--promotions", type=int, default=None, help="promotions timed (100)")
    parser.add_argument("--train", type=int, default=None, help="apps of the train (50)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="throughput: releases per app (10; 6 apps)"
    )
    parser.add_argument(
        "--max-replicas", type=int, default=3, help="throughput: PostgreSQL replicas up to (3)"
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=1,
        help="throughput: tries per configuration when one fails (each failure reported)",
    )
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=15,
        help="throughput: `shiplane serve --lease-ttl` of every replica (15; heartbeat TTL/3)",
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="throughput: a PostgreSQL server whose user may CREATE DATABASE "
        "(default: $SHIPLANE_TEST_POSTGRES_URL, else a throwaway server)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        default=None,
        help="run only this part (repeatable; default: all)",
    )
    parser.add_argument("--aborts", type=int, default=20, help="abort: aborts per mode (20)")
    parser.add_argument(
        "--target",
        choices=("flux",),
        default=None,
        help="only the deploy-target part: promotions via Flux beside via Shiplane (50)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 / 10 / 2 rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile 20 more promotions")
    args = parser.parse_args()
    if args.target == "flux":
        flux_main(args.promotions or (10 if args.quick else 50))
        return
    args.promotions = args.promotions or (20 if args.quick else 100)
    args.train = args.train or (10 if args.quick else 50)
    args.rounds = args.rounds or (2 if args.quick else 10)
    args.only = set(args.only or PARTS)

    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-promotion-") as tmp:
        root = Path(tmp)
        # kwok nodes take 110 pods each: the train twice (Shiplane, kubectl) plus surges,
        # and 6 apps x 3 environments for each throughput configuration.
        pods = 20 + (4 * args.train if "train" in args.only else 0)
        pods += 2 * 18 * (1 + args.max_replicas) if "throughput" in args.only else 0
        nodes = max(2, math.ceil(pods / 100))
        with local_cluster(root / "home", nodes, CLUSTER) as state:
            if args.only & {"overhead", "train"}:
                asyncio.run(run_all(root, state, args, report))
            if "throughput" in args.only:
                throughput_phase(root, state, args, report)
            if "abort" in args.only:
                (root / "abort").mkdir()
                asyncio.run(abort_phase(root, state, args.aborts, report))
    report.print()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


def flux_main(count: int) -> None:
    """`--target flux`: its own local cluster, Flux and git server (bench/promotion_flux.py)."""
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-flux-") as tmp:
        root = Path(tmp)
        with local_cluster(root / "home", 2, CLUSTER) as state:
            flux_phase(root, state, count, report)
    report.print()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
