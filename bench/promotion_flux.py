"""Benchmark part `--target flux` of bench/promotion.py (issue 17): what handing a
promotion off to Flux costs, beside Shiplane's own sync in the same run.

One project, two environments on the same local cluster, the same app (Deployment,
Service, ConfigMap; plain renderer), no gates and no checks:

  own    `deploy.via: shiplane`: Shiplane applies, prunes and waits for health itself;
  flux   `deploy.via: flux`: Shiplane pushes the pin commit (with the rendered objects),
         sets `reconcile.fluxcd.io/requestedAt` on the GitRepository and the
         Kustomization, and waits until the Kustomization is Ready (`wait: true`: what it
         applied is healthy) with status.lastAppliedRevision at the commit. Flux's real
         source-controller and kustomize-controller run as local processes and clone the
         repository over smart HTTP from a loopback git server.

Each of --promotions rounds promotes a new release into both, one after the other, and
times
  deployed   request -> "-> Verifying" recorded: the deploy step done (Flux: Ready at the
             commit, so applied and healthy; own sync: applied, health not yet waited for);
  succeeded  request -> Succeeded (health verified; no checks): the like-for-like figure.
p50/p95 of each, and the ratios.

Flux and the git server come from the test harness (tests/support/flux.py,
tests/support/git_http.py), so the repository root is put on sys.path.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import Report, git, p50_p95, quantile, say, three_object_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support (see above)

APP = "web"
OWN, FLUX = "own", "flux"
NAMESPACES = {OWN: "bench-own", FLUX: "bench-flux"}


def _project(kubeconfig: Path) -> str:
    ns = NAMESPACES
    return f"""\
apiVersion: shiplane/v1alpha1
project: bench
clusters:
  local: {{kubeconfig: {kubeconfig}}}
environments:
  {OWN}: {{cluster: local, namespace: {ns[OWN]}}}
  {FLUX}:
    cluster: local
    namespace: {ns[FLUX]}
    deploy:
      via: flux
      flux: {{gitRepository: {ns[FLUX]}/gitops, kustomization: {ns[FLUX]}/shop, timeout: 120s}}
apps:
  {APP}:
    images: [registry.example/bench/{APP}]
    manifests: {{path: apps/{APP}, render: plain}}
"""


def _repo(root: Path, kubeconfig: Path) -> tuple[Path, Path]:
    import subprocess

    bare, work = root / "gitops.git", root / "gitops-checkout"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    (work / "apps" / APP).mkdir(parents=True)
    (work / "apps" / APP / "app.yaml").write_text(three_object_app(APP))
    (work / "shiplane.yaml").write_text(_project(kubeconfig))
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "bench: flux hand-off")
    git(work, "push", "-q", "origin", "main")
    return bare, work


def _epoch(when: datetime) -> float:
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


async def _promote_and_time(
    controller: Any, db: Any, release: Any, environment: str
) -> tuple[float, float]:
    """(request -> "-> Verifying" recorded, request -> Succeeded), in ms."""
    from shiplane.engine.promotions import Actor
    from shiplane.store import promotions as store

    wall = time.time()
    record = await controller.request(release.id, environment, actor=Actor("bench"))
    deadline = time.monotonic() + 300
    while True:

        def get() -> Any:
            with db.session(readonly=True) as s:
                return store.get_promotion(s, record.id), store.list_steps(s, record.id)

        current, steps = await asyncio.to_thread(get)
        if current.state == "Succeeded":
            verifying = next(st for st in steps if st.name == "-> Verifying")
            done = next(st for st in steps if st.name == "-> Succeeded")
            return (
                (_epoch(verifying.started_at) - wall) * 1000,
                (_epoch(done.started_at) - wall) * 1000,
            )
        if current.state in ("Failed", "Aborted", "RolledBack", "Superseded"):
            raise RuntimeError(f"{record.id} is {current.state}: {current.reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{record.id} still {current.state} ({current.reason})")
        await asyncio.sleep(0.05)


def flux_phase(root: Path, state: Any, count: int, report: Report) -> None:
    """Start Flux and a git server, run the rounds, stop both (by PID / shutdown)."""
    from lightkube import Client, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace
    from tests.support.flux import GitRepository, Kustomization, build_flux, start_flux
    from tests.support.git_http import GitHttpServer

    binaries = build_flux()
    server = GitHttpServer(root)
    server.start()
    (root / "flux").mkdir()
    flux = start_flux(state, root / "flux", binaries)
    try:
        bare, work = _repo(root, state.kubeconfig)
        kube = Client(KubeConfig.from_file(str(state.kubeconfig)), field_manager="bench")
        for ns in NAMESPACES.values():
            kube.create(Namespace(metadata=ObjectMeta(name=ns)))
        ns = NAMESPACES[FLUX]
        kube.create(GitRepository(
            metadata={"name": "gitops", "namespace": ns},
            spec={"url": server.repo_url(bare), "ref": {"branch": "main"}, "interval": "10m"},
        ))  # fmt: skip
        kube.create(Kustomization(
            metadata={"name": "shop", "namespace": ns},
            spec={"sourceRef": {"kind": "GitRepository", "name": "gitops"},
                  "path": f"./rendered/{FLUX}", "prune": True, "wait": True,
                  "interval": "10m", "timeout": "120s"},
        ))  # fmt: skip
        asyncio.run(_rounds(root, bare, work, count, report))
    finally:
        flux.stop()
        server.stop()


async def _rounds(root: Path, bare: Path, work: Path, count: int, report: Report) -> None:
    from shiplane.config import load_project
    from shiplane.engine.clusters import ClusterPool
    from shiplane.engine.deploy import Deployer
    from shiplane.engine.promotions import PromotionController
    from shiplane.gitops.workspace import GitWorkspace
    from shiplane.store import releases
    from shiplane.store.db import Database

    project = load_project(work / "shiplane.yaml")
    db = Database.from_url(f"sqlite:///{root / 'flux-bench.db'}")
    db.migrate()
    clusters = ClusterPool(project, work)
    deployer = Deployer(db, GitWorkspace(str(bare), root / "git-cache"), project, clusters)
    controller = PromotionController(db, project, deployer, clusters, health_timeout=120)
    controller.start()

    def release(tag: str) -> Any:
        with db.session() as s:
            rel, _ = releases.create_release(
                s, artifacts={APP: f"registry.example/bench/{APP}:{tag}"}, alias=None,
                labels={}, creator="ci",
            )  # fmt: skip
        return rel

    try:
        warm = release("0.0.1")  # untimed: clone, discovery, first objects, Flux's first apply
        for env in (OWN, FLUX):
            await _promote_and_time(controller, db, warm, env)
        times: dict[tuple[str, str], list[float]] = {}
        for k in range(count):
            rel = release(f"1.0.{k}")
            for env in (OWN, FLUX):
                deployed, succeeded = await _promote_and_time(controller, db, rel, env)
                times.setdefault((env, "deployed"), []).append(deployed)
                times.setdefault((env, "succeeded"), []).append(succeeded)
            if (k + 1) % 10 == 0:
                own, flux = times[(OWN, "succeeded")], times[(FLUX, "succeeded")]
                say(f"{k + 1}/{count}: own {p50_p95(own)}; flux {p50_p95(flux)}")
        what = {
            "deployed": "request -> deployed (flux: Ready at the commit)",
            "succeeded": "request -> Succeeded (healthy)",
        }
        for kind, words in what.items():
            own, flux = times[(OWN, kind)], times[(FLUX, kind)]
            report.add(f"target: via shiplane, {words} ({count}x)", p50_p95(own))
            report.add(
                f"target: via flux, {words} ({count}x)",
                p50_p95(flux),
                f"{quantile(flux, 50) / quantile(own, 50):.2f}x via shiplane (p50), "
                f"{quantile(flux, 95) / quantile(own, 95):.2f}x (p95)",
            )
    finally:
        await controller.stop()
        await clusters.close()
        db.close()
