"""A canary in replicas mode on a real cluster: the canary Deployment's replicas follow the
steps (observed by a watch), the stable Deployment's spec never changes until the last
step passed, a person resumes and skips steps, a failed Prometheus analysis and a
person's abort both remove the canary and leave the stable version untouched.

Pods are simulated (kwok): what is tested is what Shiplane controls, the objects."""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

from shiplane.config import load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.promotions import Actor, PromotionController, requests, strategy_requests
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import promotions as pstore
from shiplane.store import releases
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord
from tests.integration.engine.promotions.conftest import OffsetClock
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.cluster

ALICE = Actor("alice", ("release-managers",))
ERRORS = 'shiplane_test_errors_ratio{app="web-canary"}'


def project_yaml(kubeconfig: Path, namespace: str, prometheus_url: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          prod:
            cluster: local
            namespace: {namespace}
            rollback: {{onFailure: auto}}
            strategy:
              canary:
                steps:
                  - setWeight: 25
                  - pause: {{}}
                  - analysis: [error-rate]
                  - setWeight: 50
                  - pause: 1h
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        checks:
          error-rate:
            prometheus:
              address: {prometheus_url}
              query: '{ERRORS}'
              success: "result[0] < 0.05"
              interval: 1s
              count: 2
        """)


@dataclass
class Canary:
    db: Database
    controller: PromotionController
    prometheus: PrometheusServer
    namespace: str
    kube: Client
    kubeconfig: Path
    clock: OffsetClock
    events: list[tuple[str, int, str, int]] = field(default_factory=list)
    """(name, spec.replicas, image, generation) of every Deployment event, in order."""

    def release(self, version: str) -> ReleaseRecord:
        with self.db.session() as s:
            rel, _ = releases.create_release(
                s,
                artifacts={"web": f"registry.example/shop/web:{version}"},
                alias=version,
                labels={},
                creator="ci",
            )
        return rel

    def get(self, promotion_id: str) -> PromotionRecord:
        with self.db.session() as s:
            record = pstore.get_promotion(s, promotion_id)
        assert record is not None
        return record

    def steps(self, promotion_id: str) -> list[str]:
        with self.db.session() as s:
            return [st.name for st in pstore.list_steps(s, promotion_id)]

    def step_detail(self, promotion_id: str, name: str) -> str:
        with self.db.session() as s:
            steps = [st.domain() for st in pstore.list_steps(s, promotion_id)]
        return next(st.detail for st in steps if st.name == name)

    def deployment(self, name: str) -> Deployment | None:
        try:
            return self.kube.get(Deployment, name, namespace=self.namespace)
        except Exception:
            return None

    def errors(self, ratio: float) -> None:
        self.prometheus.exporter.set("shiplane_test_errors_ratio", ratio, app="web-canary")
        self.prometheus.wait_for_value(ERRORS, lambda v: abs(v - ratio) < 1e-9)

    async def until(
        self, promotion_id: str, done: Any, what: str, within: float = 90
    ) -> PromotionRecord:
        """Reconcile until `done(record)`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            record = await asyncio.to_thread(self.get, promotion_id)
            if done(record):
                return record
            if loop.time() > deadline:
                raise AssertionError(f"{what}: {record.state} ({record.reason})")
            await self.controller.reconcile_due()
            await asyncio.sleep(0.2)

    @contextlib.asynccontextmanager
    async def watching(self) -> Any:
        """Record every Deployment event of the namespace while the block runs."""
        client = AsyncClient(KubeConfig.from_file(str(self.kubeconfig)))

        async def watch() -> None:
            async for _, obj in client.watch(Deployment, namespace=self.namespace):
                assert obj.metadata is not None and obj.spec is not None
                self.events.append(
                    (
                        str(obj.metadata.name),
                        int(obj.spec.replicas or 0),
                        str(obj.spec.template.spec.containers[0].image),  # type: ignore[union-attr]
                        int(obj.metadata.generation or 0),
                    )
                )

        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()

    def run(self, scenario: Any) -> None:
        async def main() -> None:
            try:
                await scenario()
            finally:
                await self.controller.stop()
                await self.controller.clusters.close()

        asyncio.run(main())


@pytest.fixture
def canary(
    tmp_path: Path, cluster: ClusterState, kube: Client, prometheus: PrometheusServer
) -> Iterator[Canary]:
    namespace = make_namespace(kube, "canary")
    bare, work = build_repo(tmp_path, project_yaml(cluster.kubeconfig, namespace, prometheus.url))
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
    yield Canary(db, controller, prometheus, namespace, kube, cluster.kubeconfig, clock)
    db.close()
    kube.delete(Namespace, namespace)


def paused(record: PromotionRecord) -> bool:
    return record.state == "Deploying" and "paused until resumed" in record.reason


def image(d: Deployment | None) -> str:
    assert d is not None and d.spec is not None and d.spec.template.spec is not None
    return str(d.spec.template.spec.containers[0].image)


def test_canary_replicas_follow_the_steps_and_the_stable_spec_waits_for_the_last(
    canary: Canary,
):
    c = canary.controller
    canary.errors(0.0)

    async def scenario() -> None:
        # The first release has no stable version to run beside: it starts at full size.
        first = await c.request(canary.release("1.0.0").id, "prod", actor=ALICE)
        first = await canary.until(first.id, lambda r: r.state == "Succeeded", "first")
        assert "canary" in canary.steps(first.id)  # skipped: nothing to run beside
        stable = canary.deployment("web")
        assert stable is not None and stable.metadata is not None
        generation = stable.metadata.generation
        async with canary.watching():
            second = await c.request(canary.release("1.1.0").id, "prod", actor=ALICE)
            # setWeight 25 beside 2 stable replicas: one canary replica (1 of 3, nearest).
            second = await canary.until(second.id, paused, "the first pause")
            live = canary.deployment("web-canary")
            assert live is not None and live.spec is not None and live.metadata is not None
            assert live.spec.replicas == 1
            assert image(live) == "registry.example/shop/web:1.1.0"
            labels = live.metadata.labels or {}
            assert labels["shiplane.dev/track"] == "canary"
            assert labels["app.kubernetes.io/managed-by"] == "shiplane"
            assert live.spec.selector.matchLabels == {"app": "web", "shiplane.dev/track": "canary"}
            assert (live.spec.template.metadata.labels or {})["app"] == "web"  # the Service's
            explained = await c.explain(second.id)
            assert "canary 25% (step 2/5: pause until resumed)" in explained
            assert second.data["strategy"]["phase"] == "steps"
            # git already pins the new release; the stable Deployment is untouched.
            assert image(canary.deployment("web")) == "registry.example/shop/web:1.0.0"

            await c.skip_step(second.id, actor=ALICE)
            # analysis (Prometheus, twice), then setWeight 50: two canary replicas.
            second = await canary.until(
                second.id,
                lambda r: r.state == "Deploying" and "step 5/5: pause" in r.reason,
                "the timed pause",
            )
            assert canary.deployment("web-canary").spec.replicas == 2  # type: ignore[union-attr]
            assert second.data["strategy"]["summary"] == "canary 50% (step 5/5: pause 3600s)"
            # The pause counts by the injectable clock: an hour later it is over.
            assert second.next_check_at is not None
            assert second.next_check_at - canary.clock.now() > timedelta(minutes=59)
            canary.clock.offset += timedelta(hours=1)
            second = await canary.until(second.id, lambda r: r.state == "Succeeded", "verified")
        assert image(canary.deployment("web")) == "registry.example/shop/web:1.1.0"
        assert canary.deployment("web-canary") is None
        names = canary.steps(second.id)
        assert "canary step 1/5: setWeight 25" in names
        assert names.count("canary step 3/5: analysis error-rate") == 1
        assert "strategy skip" in names and "canary step 5/5: pause 3600s" in names
        assert canary.step_detail(second.id, "canary step 2/5: pause until resumed") == (
            "skipped by request"
        )

        # Watched: the canary went 1 -> 2 replicas, and the stable Deployment's spec
        # changed only after that (its generation stayed while the canary ran).
        canary_sizes = [r for n, r, _, _ in canary.events if n == "web-canary"]
        assert 1 in canary_sizes and 2 in canary_sizes
        assert canary_sizes.index(1) < canary_sizes.index(2)
        events = canary.events
        first_change = next(
            i for i, (n, _, _, g) in enumerate(events) if n == "web" and g != generation
        )
        first_at_50 = next(
            i for i, (n, r, _, _) in enumerate(events) if n == "web-canary" and r == 2
        )
        assert first_at_50 < first_change
        assert {img for n, _, img, g in events[:first_change] if n == "web"} <= {
            "registry.example/shop/web:1.0.0"
        }

    canary.run(scenario)


def test_a_failed_analysis_and_an_abort_remove_the_canary_and_leave_stable_untouched(
    canary: Canary,
):
    c = canary.controller
    canary.errors(0.0)

    async def scenario() -> None:
        first = await c.request(canary.release("1.0.0").id, "prod", actor=ALICE)
        await canary.until(first.id, lambda r: r.state == "Succeeded", "first")
        stable = canary.deployment("web")
        assert stable is not None and stable.metadata is not None
        generation = stable.metadata.generation

        # A person aborts during the pause: the canary is gone when the request returns.
        aborted = await c.request(canary.release("1.1.0").id, "prod", actor=ALICE)
        await canary.until(aborted.id, paused, "the pause")
        assert canary.deployment("web-canary") is not None
        aborted = await c.abort(aborted.id, actor=ALICE, reason="looks wrong")
        assert aborted.state == "Aborted"
        assert canary.deployment("web-canary") is None
        assert "strategy aborted" in canary.steps(aborted.id)

        # The analysis fails at 25%: aborted, the canary removed, the pin rolled back.
        canary.errors(0.5)
        bad = await c.request(canary.release("1.2.0").id, "prod", actor=ALICE)
        await canary.until(bad.id, paused, "the pause")
        await c.resume(bad.id, actor=ALICE)
        bad = await canary.until(
            bad.id, lambda r: r.state in {"Failed", "RollingBack", "RolledBack"}, "abort"
        )
        failed = canary.step_detail(bad.id, "-> Failed")
        assert "check error-rate failed" in failed and "removed web-canary" in failed
        assert "the stable version is untouched" in failed
        assert canary.deployment("web-canary") is None
        bad = await canary.until(bad.id, lambda r: r.state == "RolledBack", "rolled back")

        live = canary.deployment("web")
        assert live is not None and live.metadata is not None
        assert image(live) == "registry.example/shop/web:1.0.0"
        assert live.metadata.generation == generation  # the stable spec never changed

        # A process killed between an abort's transition and the removal: the canary
        # stays until the next start's sweep, which leaves moving canaries alone.
        canary.errors(0.0)
        left = await c.request(canary.release("1.3.0").id, "prod", actor=ALICE)
        await canary.until(left.id, paused, "the pause")
        assert await strategy_requests.sweep_leftovers(c.runtime) == []  # it is moving
        assert canary.deployment("web-canary") is not None
        rt = c.runtime
        await rt.write(lambda s: requests.abort(rt, s, left.id, actor=ALICE, reason="killed"))
        assert canary.deployment("web-canary") is not None
        assert await strategy_requests.sweep_leftovers(c.runtime) == ["web-canary"]
        assert canary.deployment("web-canary") is None
        assert image(canary.deployment("web")) == "registry.example/shop/web:1.0.0"

    canary.run(scenario)
