"""Bad requests change nothing; promotions resume after the engine restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shiplane.api.problems import status_of
from shiplane.domain.errors import ConflictError, ShiplaneError
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer
from shiplane.engine.promotions import Actor, PromotionController
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store import audit, releases
from shiplane.store import promotions as pstore
from tests.integration.engine.promotions.conftest import Pipeline, saturday_noon, wait_state

pytestmark = pytest.mark.cluster

ALICE = Actor("alice", ("release-managers",))
BOB = Actor("bob", ("release-managers",))


def counts(p: Pipeline) -> tuple[int, int]:
    with p.db.session() as s:
        promotions = len(pstore.list_promotions(s, limit=500).items)
        events = len(audit.list_events(s, limit=500).items)
    return promotions, events


def test_bad_requests_are_refused_clearly_and_change_nothing(pipeline: Pipeline):
    p = pipeline
    c = p.controller
    rel = p.release("1.0.0", branch="main")
    with p.db.session() as s:
        api_only, _ = releases.create_release(
            s,
            artifacts={"api": "registry.example/shop/api:1.0.0"},
            alias=None,
            labels={},
            creator="ci",
        )

    async def scenario() -> None:
        before = counts(p)
        cases = [
            (c.request(rel.id, "qa", actor=ALICE), 404, "environment 'qa' is not defined"),
            (c.request("rel-nope", "dev", actor=ALICE), 404, "no release matches 'rel-nope'"),
            (c.request(api_only.id, "dev", actor=ALICE), 422, "missing app 'web'"),
            (c.approve("prm-unknown", actor=BOB, decision="approve"), 404, "no promotion"),
        ]
        for call, status, text in cases:
            with pytest.raises(ShiplaneError) as err:
                await call
            assert status_of(err.value) == status and text in err.value.message
        assert counts(p) == before

        p.clock.jump_to(saturday_noon())
        prod = await c.request(rel.id, "prod", actor=ALICE)
        await c.abort(prod.id, actor=ALICE, reason="changed my mind")
        before = counts(p)
        with pytest.raises(ConflictError) as aborted:
            await c.approve(prod.id, actor=BOB, decision="approve")
        assert "Aborted" in aborted.value.message
        with pytest.raises(ConflictError):
            await c.abort(prod.id, actor=ALICE, reason="twice")
        assert counts(p) == before

    p.run(scenario)


def test_waiting_and_verifying_promotions_resume_after_a_restart(pipeline: Pipeline, tmp_path):
    p = pipeline
    p.prometheus.exporter.set("shiplane_test_errors_ratio", 0.001, app="web")
    p.prometheus.wait_for_value('shiplane_test_errors_ratio{app="web"}', lambda v: v < 0.01)
    rel = p.release("1.0.0", branch="main")
    p.clock.jump_to(saturday_noon())
    ids: dict[str, str] = {}

    async def first_life() -> None:
        c = p.controller
        await c.on_release_created(rel.id)
        (dev,) = p.promotions("dev")
        await wait_state(p, dev.id, {"Succeeded"})
        (stg,) = p.promotions("staging")
        ids["staging"] = stg.id
        prod = await c.request(rel.id, "prod", actor=ALICE)
        ids["prod"] = prod.id
        # Stop while staging is verifying (after its first Prometheus measurement).
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            await c.settle(30)
            record = p.get(stg.id)
            checks = (record.data.get("verify") or {}).get("checks") or {}
            measured = len((checks.get("error-rate") or {}).get("measurements") or [])
            if record.state == "Verifying" and measured >= 1:
                break
            assert asyncio.get_running_loop().time() < deadline, record
            await asyncio.sleep(0.2)

    p.run(first_life)
    assert p.get(ids["staging"]).state == "Verifying"
    assert p.get(ids["prod"]).state == "Waiting"

    # A new process: new clients, new controller, same database and repository.
    clusters = ClusterPool(p.project, tmp_path)
    deployer = Deployer(
        p.db, GitWorkspace(str(p.bare), tmp_path / "git2"), p.project, clusters, health_timeout=60
    )
    p.controller = PromotionController(
        p.db, p.project, deployer, clusters, clock=p.clock, health_timeout=60
    )

    async def second_life() -> None:
        c = p.controller
        stg = await wait_state(p, ids["staging"], {"Succeeded"})
        measurements = stg.data["verify"]["checks"]["error-rate"]["measurements"]
        assert len(measurements) == 2  # resumed, not restarted from zero
        await c.approve(ids["prod"], actor=BOB, decision="approve")
        p.clock.jump_to(saturday_noon() + timedelta(days=2, hours=-2, minutes=1))
        c.wake()
        await wait_state(p, ids["prod"], {"Succeeded"})

    p.run(second_life)
    with p.db.session() as s:
        assert audit.verify_chain(s).ok
    # One commit per promotion in the GitOps repository, none doubled by the restart.
    from tests.support.gitops_repo import git

    subjects = git(p.bare, "log", "--format=%s", "main").splitlines()
    assert sum(s.endswith("to staging") for s in subjects) == 1
    assert sum(s.endswith("to prod") for s in subjects) == 1
