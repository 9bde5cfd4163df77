"""A canary in Gateway API mode on a real cluster (the Gateway API CRDs installed): the
HTTPRoute's backend weights follow the steps (observed by a watch), a canary Service
selects only the canary's pods, the stable Service only the stable ones; the last step
gives the stable Deployment the new spec and the route is as git says again; an abort
a failed Prometheus analysis and a freeze with abort put all the weight back on the
stable Service and remove the canary objects, the stable Deployment untouched.

Pods are simulated (kwok) and no Gateway controller runs: what is tested is what
Shiplane controls, the objects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Namespace, Service

from shiplane.config import load_project
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.promotions import PromotionController, requests, strategy_requests
from shiplane.gitops.workspace import GitWorkspace
from shiplane.localcluster.cluster import ClusterState
from shiplane.store.db import Database
from shiplane.strategies.canary_routes import route_weights
from tests.integration.engine.promotions.conftest import OffsetClock
from tests.integration.engine.promotions.test_canary import (
    ALICE,
    Canary,
    image,
    paused,
    project_yaml,
)
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo, git
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.cluster

HTTPRoute = create_namespaced_resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")

ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
  - backendRefs: [{name: web, port: 80}]
"""

STRATEGY = """\
    strategy:
      canary:
        traffic: gatewayAPI
        steps:
          - setWeight: 25
          - pause: {}
          - analysis: [error-rate]
          - setWeight: 60
          - pause: {}
"""


class GatewayCanary(Canary):
    routes: list[dict[str, int]]

    def weights(self) -> dict[str, int]:
        live = self.kube.get(HTTPRoute, "web", namespace=self.namespace)
        return route_weights(live.to_dict())

    def service(self, name: str) -> Service | None:
        try:
            return self.kube.get(Service, name, namespace=self.namespace)
        except Exception:
            return None

    @contextlib.asynccontextmanager
    async def watching_route(self) -> Any:
        """Record the route's weights at every event while the block runs."""
        client = AsyncClient(KubeConfig.from_file(str(self.kubeconfig)))

        async def watch() -> None:
            async for _, obj in client.watch(HTTPRoute, namespace=self.namespace):
                self.routes.append(route_weights(obj.to_dict()))

        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()


@pytest.fixture
def gateway_canary(
    tmp_path: Path, gateway_api: ClusterState, kube: Client, prometheus: PrometheusServer
) -> Iterator[GatewayCanary]:
    namespace = make_namespace(kube, "gwcanary")
    config = project_yaml(gateway_api.kubeconfig, namespace, prometheus.url)
    head, _, rest = config.partition("    strategy:\n")
    _, _, tail = rest.partition("          - pause: 1h\n")
    config = head + STRATEGY + tail
    bare, work = build_repo(tmp_path, config)
    (work / "apps/web/route.yaml").write_text(ROUTE)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the route")
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
    found = GatewayCanary(
        db, controller, prometheus, namespace, kube, gateway_api.kubeconfig, clock
    )
    found.routes = []
    yield found
    db.close()
    kube.delete(Namespace, namespace)


def selector(svc: Service | None) -> dict[str, str]:
    assert svc is not None and svc.spec is not None
    return dict(svc.spec.selector or {})


def test_route_weights_follow_the_steps_and_the_route_is_gits_at_the_end(
    gateway_canary: GatewayCanary,
):
    canary, c = gateway_canary, gateway_canary.controller
    canary.errors(0.0)

    async def scenario() -> None:
        first = await c.request(canary.release("1.0.0").id, "prod", actor=ALICE)
        await canary.until(first.id, lambda r: r.state == "Succeeded", "first")
        assert canary.weights() == {"web": 1}  # git's route: the default weight
        async with canary.watching_route():
            second = await c.request(canary.release("1.1.0").id, "prod", actor=ALICE)
            second = await canary.until(second.id, paused, "the first pause")
            assert canary.weights() == {"web": 75, "web-canary": 25}
            live = canary.deployment("web-canary")
            assert live is not None and live.spec is not None
            assert live.spec.replicas == 1  # 25% of 2 stable replicas, rounded up
            assert image(live) == "registry.example/shop/web:1.1.0"
            # Each Service selects one track: the canary's pods, and the stable pods only.
            assert selector(canary.service("web-canary")) == {
                "app": "web",
                "shiplane.dev/track": "canary",
            }
            stable = selector(canary.service("web"))
            assert stable["app"] == "web" and stable.get("pod-template-hash")
            assert image(canary.deployment("web")) == "registry.example/shop/web:1.0.0"
            assert "canary 25% (step 2/5: pause until resumed)" in await c.explain(second.id)

            await c.resume(second.id, actor=ALICE)
            second = await canary.until(
                second.id,
                lambda r: r.state == "Deploying" and "step 5/5" in r.reason,
                "the second pause",
            )
            assert canary.weights() == {"web": 40, "web-canary": 60}
            assert canary.deployment("web-canary").spec.replicas == 2  # type: ignore[union-attr]
            await c.resume(second.id, actor=ALICE)
            await canary.until(second.id, lambda r: r.state == "Succeeded", "verified")
        # The last step passed: the stable version is the new one, the route is git's.
        assert image(canary.deployment("web")) == "registry.example/shop/web:1.1.0"
        assert canary.weights() == {"web": 1}
        assert canary.deployment("web-canary") is None
        assert canary.service("web-canary") is None
        assert selector(canary.service("web")) == {"app": "web"}
        # Watched: 75/25 came before 40/60, and nothing else went to the canary.
        at_25 = canary.routes.index({"web": 75, "web-canary": 25})
        at_60 = canary.routes.index({"web": 40, "web-canary": 60})
        assert at_25 < at_60
        assert canary.routes[-1] == {"web": 1}
        assert all(set(w) <= {"web", "web-canary"} for w in canary.routes)

    canary.run(scenario)


def test_an_abort_and_a_failed_analysis_put_all_the_weight_back_on_stable(
    gateway_canary: GatewayCanary,
):
    canary, c = gateway_canary, gateway_canary.controller
    canary.errors(0.0)

    async def scenario() -> None:
        first = await c.request(canary.release("1.0.0").id, "prod", actor=ALICE)
        await canary.until(first.id, lambda r: r.state == "Succeeded", "first")
        stable = canary.deployment("web")
        assert stable is not None and stable.metadata is not None
        generation = stable.metadata.generation

        # A person aborts at 25%: the weights are git's when the request returns.
        aborted = await c.request(canary.release("1.1.0").id, "prod", actor=ALICE)
        await canary.until(aborted.id, paused, "the pause")
        assert canary.weights() == {"web": 75, "web-canary": 25}
        aborted = await c.abort(aborted.id, actor=ALICE, reason="looks wrong")
        assert aborted.state == "Aborted"
        assert canary.weights() == {"web": 1}
        assert canary.deployment("web-canary") is None
        assert canary.service("web-canary") is None
        assert selector(canary.service("web")) == {"app": "web"}

        # The Prometheus analysis fails at 25%: the same, and the pin is rolled back.
        canary.errors(0.5)
        bad = await c.request(canary.release("1.2.0").id, "prod", actor=ALICE)
        await canary.until(bad.id, paused, "the pause")
        await c.resume(bad.id, actor=ALICE)
        bad = await canary.until(
            bad.id, lambda r: r.state in {"Failed", "RollingBack", "RolledBack"}, "abort"
        )
        failed = canary.step_detail(bad.id, "-> Failed")
        assert "check error-rate failed" in failed
        assert "HTTPRoute web sends all traffic to the stable version" in failed
        assert canary.weights() == {"web": 1}
        assert canary.deployment("web-canary") is None
        assert canary.service("web-canary") is None
        await canary.until(bad.id, lambda r: r.state == "RolledBack", "rolled back")
        live = canary.deployment("web")
        assert live is not None and live.metadata is not None
        assert image(live) == "registry.example/shop/web:1.0.0"
        assert live.metadata.generation == generation  # the stable spec never changed
        assert selector(canary.service("web")) == {"app": "web"}

        # A freeze with abort (`shiplane freeze prod --abort`): the moving canary is
        # aborted, all weight on stable when it returns; the environment stays frozen.
        canary.errors(0.0)
        frozen = await c.request(canary.release("1.3.0").id, "prod", actor=ALICE)
        await canary.until(frozen.id, paused, "the pause")
        assert canary.weights() == {"web": 75, "web-canary": 25}
        assert await c.set_freeze("prod", actor=ALICE, on=True, reason="incident 42")
        aborted = await c.abort_moving("prod", actor=ALICE, reason="frozen: incident 42")
        assert aborted == [frozen.id]
        assert canary.get(frozen.id).state == "Aborted"
        assert "frozen: incident 42" in canary.get(frozen.id).reason
        assert canary.weights() == {"web": 1}
        assert canary.deployment("web-canary") is None
        assert canary.service("web-canary") is None
        assert await c.abort_moving("prod", actor=ALICE, reason="again") == []  # none left
        assert image(canary.deployment("web")) == "registry.example/shop/web:1.0.0"
        assert await c.set_freeze("prod", actor=ALICE, on=False)

        # A process killed between an abort's transition and the removal: the next
        # start's sweep writes the route's rules noted on the canary Service back.
        left = await c.request(canary.release("1.4.0").id, "prod", actor=ALICE)
        await canary.until(left.id, paused, "the pause")
        rt = c.runtime
        await rt.write(lambda s: requests.abort(rt, s, left.id, actor=ALICE, reason="killed"))
        assert canary.weights() == {"web": 75, "web-canary": 25}
        swept = await strategy_requests.sweep_leftovers(rt)
        assert sorted(swept) == ["service/web-canary", "web-canary"]
        assert canary.weights() == {"web": 1}
        assert canary.deployment("web-canary") is None
        assert canary.service("web-canary") is None
        assert selector(canary.service("web")) == {"app": "web"}

    canary.run(scenario)
