"""Blue-green on a real cluster: the new version runs beside the old as `<name>-preview`
behind the preview Service; the active Service's selector switches only when a person
resumes (autoPromote: false); the old version is kept for the scale-down delay; an abort
after the switch switches back and removes the preview; the stable Deployment's spec
changes only at the end. Pods are simulated (kwok): the tests check the objects."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Service

from shiplane.config import load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.promotions import Actor, PromotionController
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import promotions as pstore
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord
from tests.integration.engine.promotions.conftest import OffsetClock
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git

pytestmark = pytest.mark.cluster

ALICE = Actor("alice", ("release-managers",))
PREVIEW_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web-preview}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def project_yaml(kubeconfig: Path, namespace: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          prod:
            cluster: local
            namespace: {namespace}
            strategy:
              blueGreen:
                previewService: web-preview
                autoPromote: false
                scaleDownDelay: 1h
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        """)


@dataclass
class World:
    db: Database
    controller: PromotionController
    kube: Client
    namespace: str
    clock: OffsetClock

    def release(self, version: str) -> str:
        with self.db.session() as s:
            rel, _ = releases.create_release(
                s,
                artifacts={"web": f"registry.example/shop/web:{version}"},
                alias=version,
                labels={},
                creator="ci",
            )
        return rel.id

    def get(self, promotion_id: str) -> PromotionRecord:
        with self.db.session() as s:
            record = pstore.get_promotion(s, promotion_id)
        assert record is not None
        return record

    def selector(self, name: str) -> dict[str, str]:
        svc = self.kube.get(Service, name, namespace=self.namespace)
        assert svc.spec is not None
        return dict(svc.spec.selector or {})

    def deployment(self, name: str) -> Deployment | None:
        try:
            return self.kube.get(Deployment, name, namespace=self.namespace)
        except ApiError:
            return None

    def image(self, name: str) -> str:
        d = self.deployment(name)
        assert d is not None and d.spec is not None and d.spec.template.spec is not None
        return str(d.spec.template.spec.containers[0].image)

    async def until(self, promotion_id: str, done: Any, what: str) -> PromotionRecord:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while True:
            record = await asyncio.to_thread(self.get, promotion_id)
            if done(record):
                return record
            if loop.time() > deadline:
                raise AssertionError(f"{what}: {record.state} ({record.reason})")
            await self.controller.reconcile_due()
            await asyncio.sleep(0.2)

    def run(self, scenario: Any) -> None:
        async def main() -> None:
            try:
                await scenario()
            finally:
                await self.controller.stop()
                await self.controller.clusters.close()

        asyncio.run(main())


@pytest.fixture
def world(tmp_path: Path, cluster: ClusterState, kube: Client) -> Iterator[World]:
    namespace = make_namespace(kube, "bg")
    bare, work = build_repo(tmp_path, project_yaml(cluster.kubeconfig, namespace))
    (work / "apps/web/preview.yaml").write_text(PREVIEW_SERVICE)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "preview service")
    git(work, "push", "-q", "origin", "main")
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
    yield World(db, controller, kube, namespace, clock)
    db.close()
    kube.delete(Namespace, namespace)


def waiting_for(phrase: str) -> Any:
    return lambda r: r.state == "Deploying" and phrase in r.reason


def test_the_selector_switches_after_resume_and_the_old_version_stays_for_the_delay(
    world: World,
):
    c = world.controller
    track = "shiplane.dev/track"

    async def scenario() -> None:
        first = await c.request(world.release("1.0.0"), "prod", actor=ALICE)
        await world.until(first.id, lambda r: r.state == "Succeeded", "first")
        stable = world.deployment("web")
        assert stable is not None and stable.metadata is not None
        generation = stable.metadata.generation

        second = await c.request(world.release("1.1.0"), "prod", actor=ALICE)
        await world.until(second.id, waiting_for("waits to be resumed"), "the preview")
        assert world.image("web-preview") == "registry.example/shop/web:1.1.0"
        assert world.selector("web-preview") == {"app": "web", track: "preview"}
        assert world.selector("web") == {"app": "web"}  # not switched before the resume
        assert world.image("web") == "registry.example/shop/web:1.0.0"

        await c.resume(second.id, actor=ALICE)
        await world.until(second.id, waiting_for("old version is kept"), "the switch")
        assert world.selector("web") == {"app": "web", track: "preview"}
        live = world.deployment("web")
        assert live is not None and live.metadata is not None
        assert live.metadata.generation == generation  # the old version runs on, unchanged

        world.clock.offset += timedelta(hours=1)  # the scale-down delay is over
        await world.until(second.id, lambda r: r.state == "Succeeded", "verified")
        assert world.image("web") == "registry.example/shop/web:1.1.0"
        assert world.deployment("web-preview") is None
        assert world.selector("web") == {"app": "web"}
        assert world.selector("web-preview") == {"app": "web"}

        # An abort after the switch switches back at once and removes the preview.
        third = await c.request(world.release("1.2.0"), "prod", actor=ALICE)
        await world.until(third.id, waiting_for("waits to be resumed"), "the preview")
        await c.resume(third.id, actor=ALICE)
        await world.until(third.id, waiting_for("old version is kept"), "the switch")
        assert world.selector("web") == {"app": "web", track: "preview"}
        aborted = await c.abort(third.id, actor=ALICE, reason="errors on the new version")
        assert aborted.state == "Aborted"
        assert world.selector("web") == {"app": "web"}
        assert world.deployment("web-preview") is None
        assert world.image("web") == "registry.example/shop/web:1.1.0"

    world.run(scenario)
