"""dev -> staging -> prod across two clusters: auto-promotion, a Prometheus check, a soak,
approvals with separation of duties, a deployment window, a CEL condition, and an
automatic rollback of a release that fails verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lightkube.resources.apps_v1 import Deployment

from shiplane.domain.errors import ConflictError, ForbiddenError
from shiplane.engine.promotions import Actor
from shiplane.store import audit, promotion_controls
from shiplane.store.matrix import get_matrix
from tests.integration.engine.promotions.conftest import Pipeline, saturday_noon, wait_state

pytestmark = pytest.mark.cluster

ALICE = Actor("alice", ("release-managers",))  # an approver, but the requester
BOB = Actor("bob", ("release-managers",))
CAROL = Actor("carol", ())


def image(kube, ns: str) -> str:
    return kube.get(Deployment, "web", namespace=ns).spec.template.spec.containers[0].image


@pytest.mark.parametrize(
    "pipeline",
    [
        "shiplane",
        pytest.param("flux", marks=pytest.mark.flux),
        pytest.param("argocd", marks=pytest.mark.argocd),
    ],
    indirect=True,
)
def test_full_pipeline_with_gates_checks_and_automatic_rollback(pipeline: Pipeline):
    """With "flux" (or "argocd"), staging and prod are deployed by Flux (Argo CD): the same
    gates, checks and automatic rollback (a revert pin commit the agent applies), the same
    matrix and audit."""
    p = pipeline
    c = p.controller
    exporter = p.prometheus.exporter
    exporter.set("shiplane_test_errors_ratio", 0.001, app="web")
    p.prometheus.wait_for_value('shiplane_test_errors_ratio{app="web"}', lambda v: v < 0.01)
    good = p.release("1.0.0", branch="main")
    # Deploys happen on a Saturday: prod's window (Mon-Fri 09-17 UTC) is closed.
    p.clock.jump_to(saturday_noon())

    async def scenario() -> None:
        # 1. CI created a release: it auto-promotes to dev, then to staging (checked by
        #    Prometheus twice), and stops before prod (no autoPromote there).
        await c.on_release_created(good.id)
        (dev,) = p.promotions("dev")
        assert dev.trigger == "auto"
        await wait_state(p, dev.id, {"Succeeded"})
        (stg,) = p.promotions("staging")
        stg = await wait_state(p, stg.id, {"Succeeded"})
        assert "healthy and every check passed" in stg.data["verify_reason"]
        assert p.promotions("prod") == []

        # 2. alice asks for prod: it waits for the window and an approval.
        prod = await c.request(good.alias, "prod", actor=ALICE, reason="ship it")
        prod = await wait_state(p, prod.id, {"Waiting"})
        text = await c.explain(prod.id)
        assert "business-hours" in text and "approval" in text
        with pytest.raises(ForbiddenError) as refused:
            await c.approve(prod.id, actor=ALICE, decision="approve")
        assert "cannot approve" in refused.value.message
        with pytest.raises(ForbiddenError) as outsider:
            await c.approve(prod.id, actor=CAROL, decision="approve")
        assert "release-managers" in outsider.value.message
        await c.approve(prod.id, actor=BOB, decision="approve", comment="lgtm")
        with pytest.raises(ConflictError):
            await c.approve(prod.id, actor=BOB, decision="approve")
        await c.settle()
        waiting = await wait_state(p, prod.id, {"Waiting"})
        assert "business-hours" in waiting.reason and "approval" not in waiting.reason

        # 3. Monday morning the window opens: prod deploys on the second cluster and its
        #    smoke Job passes.
        p.clock.jump_to(saturday_noon() + timedelta(days=2, hours=-2, minutes=1))
        c.wake()
        await wait_state(p, prod.id, {"Succeeded"})
        assert image(p.kube_b, p.namespaces["prod"]) == "registry.example/shop/web:1.0.0"

        # 4. A broken release: dev takes it, staging's error rate is bad, it is rolled back.
        exporter.set("shiplane_test_errors_ratio", 0.5, app="web")
        await __import__("asyncio").to_thread(
            p.prometheus.wait_for_value, 'shiplane_test_errors_ratio{app="web"}', lambda v: v > 0.1
        )
        bad = p.release("1.1.0", branch="main")
        await c.on_release_created(bad.id)
        dev2 = next(r for r in p.promotions("dev") if r.release_id == bad.id)
        await wait_state(p, dev2.id, {"Succeeded"})
        stg2 = next(r for r in p.promotions("staging") if r.release_id == bad.id)
        stg2 = await wait_state(p, stg2.id, {"RolledBack"}, timeout=120)
        assert "error-rate failed" in stg2.reason or "rolled back" in stg2.reason
        rollback = next(r for r in p.promotions("staging") if r.rollback_of == stg2.id)
        assert rollback.kind == "rollback" and rollback.state == "Succeeded"
        assert rollback.release_id == good.id
        assert image(p.kube_a, p.namespaces["staging"]) == "registry.example/shop/web:1.0.0"

        # 5. A release from a feature branch is rejected for prod by the CEL condition.
        feature = p.release("1.2.0", branch="feature-x")
        rejected = await c.request(feature.id, "prod", actor=ALICE)
        rejected = await wait_state(p, rejected.id, {"Failed"})
        assert "prod-only-main" in rejected.reason

    p.run(scenario)

    with p.db.session() as s:
        holds = promotion_controls.list_holds(s, "staging")
        cells = {
            (c.app, c.environment): c
            for c in get_matrix(s, apps=["web"], environments=["dev", "staging", "prod"])
        }
        assert audit.verify_chain(s).ok
        actions = {e.action for e in audit.list_events(s, limit=500).items}
    assert [(h.environment, h.app) for h in holds] == [("staging", "web")]
    assert cells[("web", "staging")].release_id == good.id
    assert cells[("web", "prod")].release_id == good.id
    assert {
        "promotion.create",
        "promotion.approve",
        "promotion.succeeded",
        "promotion.failed",
        "promotion.rolledback",
    } <= actions
