"""Benchmark: the promotion engine on a real local cluster, against a CI script.

Starts its own local cluster (under a temporary SHIPLANE_HOME; stopped at the end, also on
failure), a bare git repository holding the GitOps layout, and a SQLite store, and wires
the engine as `shiplane serve` does (Deployer + PromotionController driven by its own
loop, `controller.start()`). Two measurements, each with a baseline from the same run:

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

    .venv/bin/python bench/promotion.py [--promotions 100] [--train 50]
    .venv/bin/python bench/promotion.py --quick      # smoke run: 20 promotions, 10 apps
    .venv/bin/python bench/promotion.py --profile    # + cProfile of 20 more promotions

Goals (issue 5): promotion overhead p50 <= 300 ms; a 50-app release train <= 3 s.
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


def make_engine(root: Path, bare: Path, checkout: Path) -> Engine:
    from shiplane.config import load_project
    from shiplane.engine.clusters import ClusterPool
    from shiplane.engine.deployer import Deployer
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
    return Engine(db, project, deployer, controller)


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
    from shiplane.engine.deployer import pin_for
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
        await overhead_phase(engine, kube, kubectl, root, args.promotions, report, args.profile)
        await train_phase(engine, kube, kubectl, root, args.train, report)
    finally:
        await engine.controller.stop()
        await engine.deployer.clusters.close()
        await kube.close()
        engine.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--promotions", type=int, default=None, help="promotions timed (100)")
    parser.add_argument("--train", type=int, default=None, help="apps of the train (50)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 / 10")
    parser.add_argument("--profile", action="store_true", help="cProfile 20 more promotions")
    args = parser.parse_args()
    args.promotions = args.promotions or (20 if args.quick else 100)
    args.train = args.train or (10 if args.quick else 50)

    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-promotion-") as tmp:
        root = Path(tmp)
        # kwok nodes take 110 pods each: the train twice (Shiplane, kubectl) plus surges.
        nodes = max(2, math.ceil((4 * args.train + 20) / 100))
        with local_cluster(root / "home", nodes, CLUSTER) as state:
            asyncio.run(run_all(root, state, args, report))
    report.print()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
