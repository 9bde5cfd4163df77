"""Benchmark: the sync engine on a real local cluster, against kubectl.

Starts its own local cluster (under a temporary SHIPLANE_HOME; stopped at the end, also on
failure), a bare git repository holding the GitOps layout, and a SQLite store, and wires
the engine as `shiplane serve` does (Deployer with the DriftController's on_applied hook
and its watch caches as the deployer's live objects, as DriftSupervisor wires them).
Four measurements, each with a baseline from the same run:

  cold    N apps x 3 objects (Deployment, headless Service, ConfigMap; plain renderer)
          into fresh namespaces: `Deployer.sync` of an environment whose N apps are in git
          (render, server-side dry-run, apply, prune, store records; no health wait)
          vs `kubectl apply --server-side -f` of the same rendered files, one invocation
          per app and one invocation for all.
  steady  the same sync again with nothing changed: resourceVersions of every object
          compared before/after ("writes: 0"); baseline: the single kubectl call again.
  drift   a live patch of a field Shiplane owns (another field manager) until the
          DriftController reports OutOfSync (its on_status callback, and the store row
          written), p50/p95 over --patches patches; baseline: the patch round trip.
  memory  a fresh engine process deploys M small apps (ConfigMap + Deployment), then
          watches them all with the DriftController; its VmRSS before/after.

    .venv/bin/python bench/sync.py [--apps 200] [--memory-apps 1000] [--patches 50]
    .venv/bin/python bench/sync.py --quick        # smoke run: 20 apps, 100, 10 patches
    .venv/bin/python bench/sync.py --profile      # cProfile of the cold Shiplane sync

Goals (issue 4): cold Shiplane faster than the single kubectl call; steady state writes
nothing; drift p95 <= 1 s; RSS of the engine watching 1,000 apps <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import logging
import math
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness import Kubectl, Report, git, local_cluster, quantile, say, three_object_app

CLUSTER = "bench-sync"
WARM_ENV, BENCH_ENV, MEM_ENV = "warm", "bench", "mem"
NAMESPACES = {
    "warm": "bench-warm",
    "shiplane": "bench-shiplane",
    "kubectl-per-app": "bench-kubectl-app",
    "kubectl-all": "bench-kubectl-all",
    "mem": "bench-mem",
}
KINDS = (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "ConfigMap"))
PATCH_MANAGER = "bench-drift"  # "someone else": kubectl edit, an operator, a person
MEMORY_RESULT = "MEMORY-RESULT "  # prefix of the child's result line on stdout


# --- the GitOps repository ----------------------------------------------------------------


def svc_app(name: str) -> str:
    return three_object_app(name, "1.0.0")


def mem_app(name: str) -> str:
    # replicas 0: the engine's memory does not depend on pods (they are not watched), and
    # a thousand fake pods would only load the shared machine.
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}}}
data: {{greeting: hello, LOG_LEVEL: info}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - {{name: app, image: registry.example/bench/{name}:1.0.0}}
"""


def svc_name(n: int) -> str:
    return f"svc-{n:04d}"


def mem_name(n: int) -> str:
    return f"mem-{n:04d}"


def project_yaml(kubeconfig: Path, apps: int, memory_apps: int) -> str:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: bench",
        "clusters:",
        f"  local: {{kubeconfig: {kubeconfig}}}",
        "environments:",
        f"  {WARM_ENV}: {{cluster: local, namespace: {NAMESPACES['warm']}}}",
        f"  {BENCH_ENV}: {{cluster: local, namespace: {NAMESPACES['shiplane']}}}",
        f"  {MEM_ENV}: {{cluster: local, namespace: {NAMESPACES['mem']}}}",
        "apps:",
    ]
    names = [svc_name(n) for n in range(apps)] + [mem_name(n) for n in range(memory_apps)]
    for app in names:
        lines += [
            f"  {app}:",
            f"    images: [registry.example/bench/{app}]",
            f"    manifests: {{path: apps/{app}, render: plain}}",
        ]
    return "\n".join(lines) + "\n"


def build_repo(root: Path, kubeconfig: Path, apps: int, memory_apps: int) -> tuple[Path, Path]:
    """A bare repository and a checkout: the apps' manifests, and envs/<env>/<app>/ for
    each app of an environment (unpinned apps sync the manifests as they are in git)."""
    bare, work = root / "gitops.git", root / "checkout"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    files = {"shiplane.yaml": project_yaml(kubeconfig, apps, memory_apps)}
    for n in range(apps):
        files[f"apps/{svc_name(n)}/app.yaml"] = svc_app(svc_name(n))
        files[f"envs/{BENCH_ENV}/{svc_name(n)}/.keep"] = ""
    files[f"envs/{WARM_ENV}/{svc_name(0)}/.keep"] = ""
    for n in range(memory_apps):
        files[f"apps/{mem_name(n)}/app.yaml"] = mem_app(mem_name(n))
        files[f"envs/{MEM_ENV}/{mem_name(n)}/.keep"] = ""
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


def vm_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in kB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


# --- engine wiring ------------------------------------------------------------------------


@dataclass
class Setup:
    """Paths handed to the engine (and to the memory child process)."""

    root: Path
    bare: Path
    checkout: Path
    kubeconfig: Path

    def to_json(self) -> str:
        return json.dumps({k: str(v) for k, v in vars(self).items()})

    @classmethod
    def from_json(cls, text: str) -> Setup:
        return cls(**{k: Path(v) for k, v in json.loads(text).items()})


def quiet_logs() -> None:
    # The product's log setup, at WARNING: serve logs every drift status change at INFO,
    # which would bury the figures.
    from shiplane.api.logging import configure_logging

    configure_logging(logging.WARNING)


def make_engine(setup: Setup, db_name: str, on_applied: Any = None) -> Any:
    from shiplane.config import load_project
    from shiplane.engine.clusters import ClusterPool
    from shiplane.engine.deploy import Deployer
    from shiplane.gitops.workspace import GitWorkspace
    from shiplane.store.db import Database

    project = load_project(setup.checkout / "shiplane.yaml")
    db = Database.from_url(f"sqlite:///{setup.root / db_name}")
    db.migrate()
    workspace = GitWorkspace(str(setup.bare), setup.root / f"git-cache-{db_name}")
    clusters = ClusterPool(project, setup.checkout)
    return Deployer(db, workspace, project, clusters, on_applied=on_applied)


async def live_versions(client: Any, namespace: str) -> dict[tuple[str, str], str]:
    """(kind, name) -> resourceVersion of every Deployment, Service and ConfigMap."""
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap, Service

    out: dict[tuple[str, str], str] = {}
    for resource in (Deployment, Service, ConfigMap):
        async for obj in client.list(resource, namespace=namespace):
            out[(resource.__name__, obj.metadata.name)] = obj.metadata.resourceVersion
    return out


def count_writes(before: dict[Any, str], after: dict[Any, str]) -> int:
    return sum(1 for key in before.keys() | after.keys() if before.get(key) != after.get(key))


async def wait_settled(client: Any, namespace: str, expected: int, limit: float = 240) -> float:
    """Seconds until every Deployment of `namespace` is rolled out (controllers and kwok
    done), so one variant's background work does not slow down the next measurement."""
    from lightkube.resources.apps_v1 import Deployment

    started = time.perf_counter()
    while True:
        ready = 0
        async for d in client.list(Deployment, namespace=namespace):
            status = d.status
            if (
                status is not None
                and status.observedGeneration == d.metadata.generation
                and (status.availableReplicas or 0) == d.spec.replicas
                and (status.updatedReplicas or 0) == d.spec.replicas
            ):
                ready += 1
        if ready >= expected:
            return time.perf_counter() - started
        if time.perf_counter() - started > limit:
            say(
                f"warning: only {ready}/{expected} Deployments of {namespace} "
                f"rolled out after {limit:.0f}s"
            )
            return time.perf_counter() - started
        await asyncio.sleep(0.5)


class StatusProbe:
    """Sits in front of DriftController.on_status: remembers each app's latest status and
    wakes waiters when a status matches, both when the controller is told (`seen`) and
    once it has written the store row (`stored`)."""

    def __init__(self, drift: Any) -> None:
        self.forward = drift.on_status
        # An instance attribute shadows the method; the controller hands
        # `self.controller.on_status` to each detector it builds, so set it before any.
        drift.on_status = self.on_status
        self.latest: dict[tuple[str, str], Any] = {}
        self.waiters: list[tuple[tuple[str, str], Any, asyncio.Future[tuple[float, float]]]] = []

    async def on_status(self, environment: str, app: str, sync: Any) -> None:
        seen = time.perf_counter()
        key = (environment, app)
        self.latest[key] = sync  # the controller's view, in the order it decided
        await self.forward(environment, app, sync)
        stored = time.perf_counter()
        for waiter in list(self.waiters):
            want, predicate, future = waiter
            if want == key and predicate(sync) and not future.done():
                future.set_result((seen, stored))
                self.waiters.remove(waiter)

    def expect(
        self, environment: str, app: str, predicate: Any
    ) -> asyncio.Future[tuple[float, float]]:
        future: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self.waiters.append(((environment, app), predicate, future))
        return future

    def count(self, environment: str, status: str) -> int:
        return sum(
            1
            for (env, _), s in self.latest.items()
            if env == environment and str(s.status) == status
        )


# --- phases 1-3: cold, steady state, drift ------------------------------------------------


async def engine_phases(setup: Setup, args: argparse.Namespace, report: Report) -> None:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Namespace

    from shiplane.engine.drift import DriftController

    quiet_logs()
    apps = [svc_name(n) for n in range(args.apps)]
    kube = AsyncClient(KubeConfig.from_file(str(setup.kubeconfig)), field_manager=PATCH_MANAGER)
    kubectl = Kubectl(setup.kubeconfig, setup.root / "kube-cache")
    deployer = make_engine(setup, "shiplane.db")
    drift = DriftController(deployer.db, deployer.project)
    probe = StatusProbe(drift)
    # As DriftSupervisor wires them for `shiplane serve` (engine/drift.py).
    deployer.on_applied = drift.on_applied
    deployer.live_objects = drift.live
    try:
        for ns in NAMESPACES.values():
            await kube.create(Namespace(metadata=ObjectMeta(name=ns)))

        # Warm-up, untimed, so that each side is measured as it normally runs: kubectl with
        # its discovery cache on disk, the engine as a running server (git clone, API
        # discovery, watch cache and database already there) -- a one-app sync.
        kubectl.run("api-resources")
        await deployer.sync(WARM_ENV, actor="bench", wait=False)

        # The files kubectl applies: Shiplane's own rendering, namespace swapped.
        rendered = {app: await deployer.render(BENCH_ENV, app) for app in apps}
        dirs = {}
        for variant in ("kubectl-per-app", "kubectl-all"):
            dirs[variant] = setup.root / "rendered" / variant
            dirs[variant].mkdir(parents=True)
            for app, objects in rendered.items():
                docs = []
                for obj in objects:
                    obj = json.loads(json.dumps(obj))
                    obj["metadata"]["namespace"] = NAMESPACES[variant]
                    docs.append(obj)
                (dirs[variant] / f"{app}.yaml").write_text(yaml.safe_dump_all(docs))
        objects_total = sum(len(o) for o in rendered.values())
        say(f"{len(apps)} apps, {objects_total} objects rendered")

        # --- 1. cold ---
        started = time.perf_counter()
        for app in apps:
            kubectl.apply(dirs["kubectl-per-app"] / f"{app}.yaml")
        per_app = time.perf_counter() - started
        settle = await wait_settled(kube, NAMESPACES["kubectl-per-app"], len(apps))
        say(f"kubectl per app: {per_app:.2f}s (rolled out {settle:.1f}s later)")

        started = time.perf_counter()
        kubectl.apply(dirs["kubectl-all"])
        single = time.perf_counter() - started
        settle = await wait_settled(kube, NAMESPACES["kubectl-all"], len(apps))
        say(f"kubectl single call: {single:.2f}s (rolled out {settle:.1f}s later)")

        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        outcome = await deployer.sync(BENCH_ENV, actor="bench", wait=False)
        if profiler is not None:
            profiler.disable()
        cold = time.perf_counter() - started
        changed = sum(o.changed for o in outcome.apps.values())
        assert outcome.ok and changed == objects_total, (outcome.status, changed)
        settle = await wait_settled(kube, NAMESPACES["shiplane"], len(apps))
        say(
            f"shiplane sync: {cold:.2f}s, {changed} objects created "
            f"(rolled out {settle:.1f}s later)"
        )
        if profiler is not None:
            print_profile(profiler)
        report.add(f"cold: kubectl, one call per app ({len(apps)} apps)", f"{per_app:.2f} s")
        report.add(f"cold: kubectl, one call for all ({objects_total} objects)", f"{single:.2f} s")
        verdict = "ok" if cold < single else "MISSED"
        report.add(
            f"cold: shiplane sync ({len(apps)} apps)",
            f"{cold:.2f} s",
            f"{cold / per_app:.2f}x the time of kubectl per app, "
            f"{cold / single:.2f}x of the single call",
            f"{verdict} (< single kubectl call)",
        )

        # Drift statuses of the cold sync are written in the background; let them land.
        with contextlib.suppress(TimeoutError):
            await wait_for(lambda: probe.count(BENCH_ENV, "Synced") >= len(apps), 60, "Synced")
        synced = probe.count(BENCH_ENV, "Synced")
        if synced < len(apps):
            for (env, app), sync in sorted(probe.latest.items()):
                if env == BENCH_ENV and str(sync.status) != "Synced":
                    say(f"not Synced after the cold sync: {app} {sync.status} {sync.diffs[:3]}")
                    break
        await asyncio.sleep(1)  # the last status rows are written in worker threads
        stored = await asyncio.to_thread(stored_statuses, deployer.db, apps)
        report.add(
            "cold: drift status after the cold sync",
            f"{synced} of {len(apps)} Synced (controller), "
            f"{stored.count('Synced')} of {len(apps)} in the store",
        )

        # --- 2. steady state ---
        ns = NAMESPACES["shiplane"]
        before = await live_versions(kube, ns)
        started = time.perf_counter()
        outcome = await deployer.sync(BENCH_ENV, actor="bench", wait=False)
        steady = time.perf_counter() - started
        writes = count_writes(before, await live_versions(kube, ns))
        reported = sum(o.changed for o in outcome.apps.values())
        say(f"writes: {writes} ({len(before)} objects' resourceVersions compared)")
        assert outcome.ok

        ns_all = NAMESPACES["kubectl-all"]
        before_all = await live_versions(kube, ns_all)
        started = time.perf_counter()
        kubectl.apply(dirs["kubectl-all"])
        steady_kubectl = time.perf_counter() - started
        writes_kubectl = count_writes(before_all, await live_versions(kube, ns_all))
        report.add(
            "steady: kubectl, one call for all, no change",
            f"{steady_kubectl:.2f} s, writes: {writes_kubectl}",
        )
        report.add(
            f"steady: shiplane sync, no change ({len(before)} objects)",
            f"{steady:.2f} s, writes: {writes} (engine says {reported} changed)",
            f"{steady / steady_kubectl:.2f}x the time of the single kubectl call",
            "ok (writes: 0)" if writes == 0 else "MISSED (writes > 0)",
        )

        # --- 3. drift ---
        seen_ms: list[float] = []
        stored_ms: list[float] = []
        patch_ms: list[float] = []
        for k in range(args.patches):
            app = apps[k % len(apps)]
            value = f"drifted-{k}"
            future = probe.expect(
                BENCH_ENV,
                app,
                lambda s, v=value: (
                    str(s.status) == "OutOfSync" and any(d.live == v for d in s.diffs)
                ),
            )
            started = time.perf_counter()
            await kube.patch(
                ConfigMap,
                app,
                {"data": {"greeting": value}},
                namespace=ns,
                field_manager=PATCH_MANAGER,
            )
            patch_ms.append((time.perf_counter() - started) * 1000)
            seen, stored = await asyncio.wait_for(future, timeout=30)
            seen_ms.append((seen - started) * 1000)
            stored_ms.append((stored - started) * 1000)
            await asyncio.sleep(0.05)  # one patch at a time, as a person would
        p95_stored = quantile(stored_ms, 95)
        report.add(
            f"drift: patch round trip ({args.patches} patches)",
            f"p50 {quantile(patch_ms, 50):.0f} ms, p95 {quantile(patch_ms, 95):.0f} ms",
        )
        report.add(
            "drift: patch -> OutOfSync (controller told)",
            f"p50 {quantile(seen_ms, 50):.0f} ms, p95 {quantile(seen_ms, 95):.0f} ms",
            f"{quantile(seen_ms, 95) / quantile(patch_ms, 95):.1f}x the patch (p95)",
        )
        report.add(
            "drift: patch -> OutOfSync in the store",
            f"p50 {quantile(stored_ms, 50):.0f} ms, p95 {p95_stored:.0f} ms",
            f"{p95_stored / quantile(patch_ms, 95):.1f}x the patch (p95)",
            f"{'ok' if p95_stored <= 1000 else 'MISSED'} (p95 <= 1000 ms)",
        )

        # Leave the cluster to the memory phase's engine: only its own apps to watch.
        gone = [NAMESPACES[v] for v in ("warm", "shiplane", "kubectl-per-app", "kubectl-all")]
        for name in gone:
            await kube.delete(Namespace, name)
        remaining = set(gone)
        deadline = time.monotonic() + 180
        while remaining and time.monotonic() < deadline:
            await asyncio.sleep(1)
            remaining = {n.metadata.name async for n in kube.list(Namespace)} & remaining
        if remaining:
            say(f"warning: namespaces still terminating: {', '.join(sorted(remaining))}")
    finally:
        await drift.stop()
        await deployer.clusters.close()
        await kube.close()
        deployer.db.close()


def stored_statuses(db: Any, apps: list[str]) -> list[str]:
    from shiplane.store.matrix import get_matrix

    with db.session() as s:
        return [c.sync_status for c in get_matrix(s, apps=apps, environments=[BENCH_ENV])]


async def wait_for(check: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def print_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(out.getvalue())


# --- phase 4: memory, in a fresh engine process -------------------------------------------


async def memory_child(setup: Setup) -> dict[str, Any]:
    """Runs in its own process: deploy the memory apps, then watch them all."""
    from shiplane.engine.drift import DriftController

    quiet_logs()
    gc.collect()
    rss_start = vm_status()["VmRSS"]
    applied: list[tuple[str, str, Any, list[dict[str, Any]]]] = []

    async def remember(
        environment: str, app: str, handle: Any, objects: list[Any], commit: Any = None
    ) -> None:
        applied.append((environment, app, handle, objects))

    deployer = make_engine(setup, "memory.db", on_applied=remember)
    drift = DriftController(deployer.db, deployer.project)
    try:
        started = time.perf_counter()
        outcome = await deployer.sync(MEM_ENV, actor="bench", wait=False)
        deploy_s = time.perf_counter() - started
        assert outcome.ok, outcome.status
        gc.collect()
        rss_deployed = vm_status()["VmRSS"]
        # What `shiplane serve` does at start for deployed apps (Engine._refresh_watch):
        # register each app's desired objects with the drift controller.
        started = time.perf_counter()
        for environment, app, handle, objects in applied:
            await drift.on_applied(environment, app, handle, objects)
        register_s = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = [drift.status(MEM_ENV, app) for _, app, _, _ in applied]
            if all(s is not None and str(s.status) == "Synced" for s in statuses):
                break
            await asyncio.sleep(0.2)
        synced = sum(1 for s in statuses if s is not None and str(s.status) == "Synced")
        await asyncio.sleep(2)  # the status rows are written in the background
        cluster = next(iter(drift._clusters.values()))
        cached = len(cluster.cache) if cluster.cache is not None else 0
        gc.collect()
        status = vm_status()
        return {
            "apps": len(applied),
            "objects": sum(len(o) for *_, o in applied),
            "cached_objects": cached,
            "synced": synced,
            "deploy_s": deploy_s,
            "register_s": register_s,
            "rss_start_kb": rss_start,
            "rss_deployed_kb": rss_deployed,
            "rss_watching_kb": status["VmRSS"],
            "hwm_kb": status["VmHWM"],
        }
    finally:
        await drift.stop()
        await deployer.clusters.close()
        deployer.db.close()


def memory_phase(setup: Setup, report: Report) -> None:
    # A fresh process, so the figure is an engine's, not this benchmark's heap after
    # phases 1-3 (and not kubectl's files and profiles).
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", setup.to_json()],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith(MEMORY_RESULT))
    r = json.loads(line.removeprefix(MEMORY_RESULT))
    mb = 1024.0
    watching = r["rss_watching_kb"] / mb
    report.add(
        f"memory: engine deploys {r['apps']} apps ({r['objects']} objects)",
        f"{r['deploy_s']:.1f} s; RSS {r['rss_start_kb'] / mb:.0f} MB at start, "
        f"{r['rss_deployed_kb'] / mb:.0f} MB after",
    )
    report.add(
        f"memory: engine watching {r['apps']} apps ({r['cached_objects']} cached objects, "
        f"{r['synced']} Synced)",
        f"RSS {watching:.0f} MB (+{(r['rss_watching_kb'] - r['rss_deployed_kb']) / mb:.0f} MB "
        f"for watching; peak {r['hwm_kb'] / mb:.0f} MB); registered in {r['register_s']:.1f} s",
        f"{watching / (r['rss_start_kb'] / mb):.1f}x the idle engine",
        f"{'ok' if watching <= 300 else 'MISSED'} (<= 300 MB)",
    )


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=None, help="apps of the cold run (200)")
    parser.add_argument("--memory-apps", type=int, default=None, help="apps watched (1000)")
    parser.add_argument("--patches", type=int, default=None, help="drift patches (50)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 / 100 / 10")
    parser.add_argument("--profile", action="store_true", help="cProfile the cold sync")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        result = asyncio.run(memory_child(Setup.from_json(args.memory_child)))
        print(MEMORY_RESULT + json.dumps(result), flush=True)
        return
    quick = (20, 100, 10) if args.quick else (200, 1000, 50)
    args.apps = args.apps or quick[0]
    args.memory_apps = args.memory_apps or quick[1]
    args.patches = args.patches or quick[2]

    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-sync-") as tmp:
        root = Path(tmp)
        # kwok nodes take 110 pods each; the three cold variants run one pod per app.
        nodes = max(2, math.ceil((3 * args.apps + 20) / 100))
        with local_cluster(root / "home", nodes, CLUSTER) as state:
            bare, checkout = build_repo(root, state.kubeconfig, args.apps, args.memory_apps)
            setup = Setup(root, bare, checkout, state.kubeconfig)
            asyncio.run(engine_phases(setup, args, report))
            memory_phase(setup, report)
        shutil.rmtree(root / "rendered", ignore_errors=True)
    report.print()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
