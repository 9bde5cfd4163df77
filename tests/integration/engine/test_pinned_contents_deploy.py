"""Chart versions and config commits as release contents, end to end on real parts: a
chart source on a Helm repository served on 127.0.0.1 (charts packaged and indexed by the
real helm) and a git source on the GitOps repository assemble releases; the chart's
release auto-promotes into dev (the promotion controller's release path), and deploys
render that chart version, and that commit's manifests, on a local cluster."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import ConfigMap, Namespace

from shiplane.config import ProjectConfig, load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.promotions import PromotionController
from shiplane.engine.sources.service import SourceService
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import promotions as pstore
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git, project_yaml
from tests.support.helm_repo import CONFIGMAP_TEMPLATE, served_helm_repo

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]

WEB = "registry.example/shop/web:1.0.0@sha256:" + "a" * 64
PAY = "registry.example/shop/pay:1.0.0@sha256:" + "b" * 64


@dataclass
class Env:
    work: Path
    project: ProjectConfig
    db: Database
    deployer: Deployer
    sources: SourceService
    namespaces: dict[str, str]
    controller: PromotionController

    def newest(self) -> ReleaseRecord:
        with self.db.session(readonly=True) as s:
            return releases.list_releases(s, limit=1).items[0]

    def seed(self, **artifacts: str) -> ReleaseRecord:
        with self.db.session() as s:
            return releases.create_release(
                s, artifacts=artifacts, alias=None, labels={}, creator="ci"
            )[0]


@pytest.fixture
def env_factory(tmp_path: Path, cluster: ClusterState, kube: Client) -> Iterator[Any]:
    made: list[tuple[Database, list[str]]] = []

    def make(sources: str, pay_chart: str = "", extra: str = "") -> Env:
        namespaces = {e: make_namespace(kube, e) for e in ("dev", "staging")}
        config = project_yaml(
            {"local": cluster.kubeconfig},
            {e: ("local", ns) for e, ns in namespaces.items()},
            extra=extra,
        )
        if pay_chart:
            config = config.replace(
                "    images: [registry.example/shop/pay]\n",
                f"    images: [registry.example/shop/pay]\n    chart: {pay_chart}\n",
            )
        sources = sources.replace("BARE", str(tmp_path / "gitops.git"))  # build_repo's
        bare, work = build_repo(tmp_path, config + "\nsources:\n" + textwrap.indent(sources, "  "))
        for env in namespaces:  # the environment's own values for the chart
            (work / f"envs/{env}/pay").mkdir(parents=True)
            (work / f"envs/{env}/pay/values.yaml").write_text(f"color: {env}-blue\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "env values")
        git(work, "push", "-q", "origin", "main")
        project = load_project(work / "shiplane.yaml")
        db = Database.from_url(f"sqlite:///{tmp_path / 'shiplane.db'}")
        db.migrate()
        workspace = GitWorkspace(str(bare), tmp_path / "git-cache")
        clusters = ClusterPool(project, work)
        deployer = Deployer(db, workspace, project, clusters, health_timeout=60)
        # The engine's release path: stored with the root auto-promotions.
        controller = PromotionController(db, project, deployer, clusters, health_timeout=60)
        sources_service = SourceService(
            db,
            project,
            controller.create_release,
            last_change=lambda c, p, urls: workspace.last_change(c, p, fetch_from=urls),
        )
        made.append((db, list(namespaces.values())))
        return Env(work, project, db, deployer, sources_service, namespaces, controller)

    yield make
    for db, namespaces in made:
        db.close()
        for ns in namespaces:
            kube.delete(Namespace, ns)


async def test_a_new_chart_version_becomes_a_release_that_deploys_that_chart(
    env_factory: Any, tmp_path: Path, kube: Client
) -> None:
    versions = {"1.0.0": CONFIGMAP_TEMPLATE, "1.1.0": CONFIGMAP_TEMPLATE}
    with served_helm_repo(tmp_path / "helm", "pay", versions) as url:
        env: Env = env_factory(
            f"pay-chart: {{chart: {{repository: '{url}', name: pay}}, apps: [pay]}}\n",
            pay_chart=f"{{repository: '{url}', name: pay}}",
            extra=", autoPromote: true",
        )
        first = env.seed(pay=PAY)  # CI's release (before): the image a chart change keeps
        try:
            state = await env.sources.refresh_and_wait("pay-chart", reason="test")
            assert state is not None and state.version == "1.1.0", state
            release = env.newest()
            assert release.id != first.id and release.creator == "source/pay-chart"
            assert [a.ref for a in release.artifacts] == [PAY]
            assert release.charts["pay"].startswith("1.1.0@sha256:")
            promotion = await succeeded(env, release.id, "dev")  # the auto-promotion
            assert promotion.trigger == "auto"
        finally:
            await env.controller.stop()
    live = kube.get(ConfigMap, "pay-chart", namespace=env.namespaces["dev"])
    assert live.data == {"chartVersion": "1.1.0", "color": "dev-blue"}
    git(env.work, "pull", "-q")
    pin = (env.work / "envs/dev/pay/shiplane.pin.yaml").read_text()
    assert "chart:\n  name: pay\n  version: 1.1.0\n  digest: sha256:" in pin
    # Drift and syncs render the same way, from the chart cache (the server is gone).
    synced = await env.deployer.sync("dev", ["pay"], actor="test")
    assert synced.status == "succeeded", synced


async def succeeded(env: Env, release_id: str, environment: str) -> PromotionRecord:
    """The promotion of `release_id` into `environment`, driven until it succeeds."""
    deadline = asyncio.get_running_loop().time() + 120
    while True:
        with env.db.session(readonly=True) as s:
            items = pstore.list_promotions(s, environment=environment, limit=20).items
        mine = [p for p in items if p.release_id == release_id]
        if mine and mine[0].state == "Succeeded":
            return mine[0]
        assert not mine or mine[0].state not in {"Failed", "Aborted"}, mine[0]
        assert asyncio.get_running_loop().time() < deadline, mine
        await env.controller.reconcile_due()
        await asyncio.sleep(0.2)


async def test_a_config_commit_reaches_dev_while_staging_keeps_the_old_manifests(
    env_factory: Any, kube: Client
) -> None:
    # The git source watches the GitOps repository itself.
    env: Env = env_factory("config: {git: {url: BARE, branch: main}, apps: [web]}\n")
    env.seed(web=WEB)
    (await env.sources.refresh_and_wait("config", reason="test"))
    old = env.newest()
    initial = git(env.work, "rev-list", "--max-parents=0", "HEAD")
    assert old.commits == {"web": initial}  # the last change of apps/web, not the head
    for name in ("dev", "staging"):
        assert (await env.deployer.deploy(old, name, actor="test")).status == "succeeded"
    # Shiplane's own pin commits moved the head: still the same release.
    (await env.sources.refresh_and_wait("config", reason="test"))
    assert env.newest().id == old.id

    git(env.work, "pull", "-q", "--rebase")
    app = env.work / "apps/web/app.yaml"
    app.write_text(app.read_text().replace("greeting: hello", "greeting: bonjour"))
    git(env.work, "commit", "-qam", "web says bonjour")
    git(env.work, "push", "-q", "origin", "main")
    change = git(env.work, "rev-parse", "HEAD")
    (await env.sources.refresh_and_wait("config", reason="test"))
    new = env.newest()
    assert new.commits == {"web": change} and [a.ref for a in new.artifacts] == [WEB]
    assert (await env.deployer.deploy(new, "dev", actor="test")).status == "succeeded"
    # staging still runs `old`: a sync renders the head's tree with its pinned commit.
    assert (await env.deployer.sync("staging", ["web"], actor="test")).status == "succeeded"
    greeting = {
        name: kube.get(ConfigMap, "web-config", namespace=ns).data
        for name, ns in env.namespaces.items()
    }
    assert greeting == {"dev": {"greeting": "bonjour"}, "staging": {"greeting": "hello"}}
