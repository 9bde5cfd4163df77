"""A whole promotion pipeline on real parts: two local clusters, a bare git repository,
a SQLite store, a real Prometheus scraping an exporter the test controls."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace

from shiplane.config import ProjectConfig, load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.promotions import PromotionController
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import promotions as pstore
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord
from tests.integration.targets.conftest import create_flux_objects
from tests.support.argocd import ARGOCD_NAMESPACE, ArgoCD, application
from tests.support.clusters import kube_client, make_namespace
from tests.support.gitops_repo import build_repo
from tests.support.prometheus import PrometheusServer

if TYPE_CHECKING:  # Flux's harness is imported only by the tests that run Flux
    from tests.support.git_http import GitHttpServer

T = TypeVar("T")


class OffsetClock:
    """Real time, plus an offset the test can move: checks and health still see time
    pass, and a test can jump to a window's opening without waiting for it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)


def flux_deploy(namespace: str) -> str:
    """An environment's `deploy` handing off to the Flux objects of its namespace."""
    return (
        f"deploy: {{via: flux, flux: {{gitRepository: {namespace}/gitops, "
        f"kustomization: {namespace}/shop, timeout: 90s}}}}"
    )


def argocd_deploy(namespace: str) -> str:
    """An environment's `deploy` handing off to the Argo CD Application of its namespace."""
    return (
        f"deploy: {{via: argocd, argocd: {{application: {ARGOCD_NAMESPACE}/shop-{namespace}, "
        "timeout: 90s}}"
    )


def _deploy(via: str, namespace: str) -> str:
    if via == "flux":
        return flux_deploy(namespace)
    if via == "argocd":
        return argocd_deploy(namespace)
    return "deploy: {via: shiplane}"


def pipeline_yaml(
    a: Path, b: Path, ns: dict[str, str], prometheus_url: str, via: str = "shiplane"
) -> str:
    # `via: flux` or `argocd`: staging and prod are deployed by that agent (dev by Shiplane).
    stg = _deploy(via, ns["staging"])
    prod = _deploy(via, ns["prod"])
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          nonprod: {{kubeconfig: {a}}}
          prod: {{kubeconfig: {b}}}
        environments:
          dev: {{cluster: nonprod, namespace: {ns["dev"]}, autoPromote: true}}
          staging:
            cluster: nonprod
            namespace: {ns["staging"]}
            after: [dev]
            autoPromote: true
            verify: [error-rate]
            rollback: {{onFailure: auto}}
            {stg}
          prod:
            cluster: prod
            namespace: {ns["prod"]}
            after: [staging]
            soak: 2s
            approvals: {{required: 1, groups: [release-managers], expiry: 7d}}
            windows: [business-hours]
            verify: [smoke]
            {prod}
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
          api:
            images: [registry.example/shop/api]
            manifests: {{path: apps/api, render: kustomize}}
            dependsOn: [web]
        checks:
          error-rate:
            prometheus:
              address: {prometheus_url}
              query: 'shiplane_test_errors_ratio{{app="web"}}'
              success: "result[0] < 0.05"
              interval: 1s
              count: 2
          smoke:
            job: {{image: "registry.example/shop/smoke:1.0", timeout: 60s}}
        windows:
          business-hours:
            allow: {{days: Mon-Fri, from: "09:00", to: "17:00"}}
            timezone: UTC
        conditions:
          prod-only-main: {{environments: [prod], reject: "release.labels.branch != 'main'"}}
        """)


@dataclass
class Pipeline:
    db: Database
    project: ProjectConfig
    controller: PromotionController
    clock: OffsetClock
    prometheus: PrometheusServer
    namespaces: dict[str, str]
    kube_a: Client
    kube_b: Client
    bare: Path

    def release(self, web: str, creator: str = "ci", **labels: str) -> ReleaseRecord:
        with self.db.session() as s:
            rel, _ = releases.create_release(
                s,
                artifacts={"web": f"registry.example/shop/web:{web}"},
                alias=None,
                labels=labels,
                creator=creator,
            )
        return rel

    def run(self, scenario: Callable[[], Awaitable[T]]) -> T:
        async def main() -> T:
            try:
                return await scenario()
            finally:
                await self.controller.stop()
                await self.controller.clusters.close()

        return asyncio.run(main())

    def get(self, promotion_id: str) -> PromotionRecord:
        with self.db.session() as s:
            record = pstore.get_promotion(s, promotion_id)
        assert record is not None
        return record

    def promotions(self, environment: str) -> list[PromotionRecord]:
        with self.db.session() as s:
            return list(pstore.list_promotions(s, environment=environment, limit=100).items)


def create_argocd_application(argocd: ArgoCD, bare: Path, environment: str, namespace: str) -> str:
    """The Application `shop-<namespace>` syncing every app of `environment` (its rendered
    directory, recursively) into `namespace`; no automated sync: Shiplane asks. Its name."""
    name = f"shop-{namespace}"
    spec = application(name, f"file://{bare}", f"rendered/{environment}",
                       argocd.destination, namespace)  # fmt: skip
    spec["spec"]["source"]["directory"] = {"recurse": True}
    argocd.apply(spec)
    return name


@pytest.fixture
def pipeline(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    cluster: ClusterState,
    second_cluster: ClusterState,
    kube: Client,
    prometheus: PrometheusServer,
) -> Iterator[Pipeline]:
    """The pipeline; parametrized indirectly with "flux", staging and prod hand off to
    Flux (one per cluster), which clones the repository from the loopback git server; with
    "argocd", to Argo CD (one per cluster), which reads it by file:// URL."""
    via = getattr(request, "param", "shiplane")
    kube_b = kube_client(second_cluster)
    namespaces = {
        "dev": make_namespace(kube, "dev"),
        "staging": make_namespace(kube, "stg"),
        "prod": make_namespace(kube_b, "prod"),
    }
    config = pipeline_yaml(
        cluster.kubeconfig, second_cluster.kubeconfig, namespaces, prometheus.url, via
    )
    applications: list[tuple[ArgoCD, str]] = []  # deleted at the end
    if via == "flux":
        request.getfixturevalue("flux")
        request.getfixturevalue("second_flux")
        git_http: GitHttpServer = request.getfixturevalue("git_http")
        bare, work = build_repo(git_http.root / tmp_path.name, config)
        url = git_http.repo_url(bare)
        create_flux_objects(kube, namespaces["staging"], url, "./rendered/staging")
        create_flux_objects(kube_b, namespaces["prod"], url, "./rendered/prod")
    elif via == "argocd":
        bare, work = build_repo(tmp_path, config)
        for fixture, env in (("argocd", "staging"), ("second_argocd", "prod")):
            argocd: ArgoCD = request.getfixturevalue(fixture)
            name = create_argocd_application(argocd, bare, env, namespaces[env])
            applications.append((argocd, name))
    else:
        bare, work = build_repo(tmp_path, config)
    project = load_project(work / "shiplane.yaml")
    db = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
    db.migrate()
    clusters = ClusterPool(project, work)
    deployer = Deployer(
        db, GitWorkspace(str(bare), tmp_path / "git"), project, clusters, health_timeout=60
    )
    clock = OffsetClock()
    controller = PromotionController(
        db, project, deployer, clusters, clock=clock, health_timeout=60
    )
    yield Pipeline(db, project, controller, clock, prometheus, namespaces, kube, kube_b, bare)
    db.close()
    for ns in ("dev", "staging"):
        kube.delete(Namespace, namespaces[ns])
    kube_b.delete(Namespace, namespaces["prod"])
    for argocd, name in applications:
        argocd.delete(name)


def saturday_noon() -> datetime:
    today = datetime.now(UTC)
    days = (5 - today.weekday()) % 7 or 7
    return (today + timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)


def wait_state(p: Pipeline, promotion_id: str, states: set[str], timeout: float = 90) -> Any:
    async def go() -> PromotionRecord:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            record = await asyncio.to_thread(p.get, promotion_id)
            if record.state in states:
                return record
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{promotion_id} is {record.state} ({record.reason}), not {states}"
                )
            await p.controller.reconcile_due()
            await asyncio.sleep(0.2)

    return go()
