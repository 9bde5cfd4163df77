"""Insights over histories written by the engine's real write paths (state handlers,
requests, automatic rollback) on a SQLite database, with an in-memory deployer and
verifier and a hand-moved clock: the figures are exactly the times the clock was at."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from shiplane.domain.errors import InvalidError, NotFoundError
from shiplane.domain.insights import Insights
from shiplane.engine.insights import insights
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.auto import auto_promote_roots
from shiplane.engine.promotions.create import create_promotion
from shiplane.store import promotions as store
from tests.unit.engine.promotions.conftest import ALICE, BOB, T0, World

PIPELINE = {
    "dev": {"autoPromote": True},
    "staging": {"after": ["dev"], "autoPromote": True, "tier": "staging"},
    "prod": {
        "after": ["staging"],
        "tier": "production",
        "approvals": {"required": 1, "groups": ["release-managers"]},
        "rollback": {"onFailure": "auto"},
    },
}
MIN = timedelta(minutes=1)


@pytest.fixture
def w(make_world: Callable[..., World]) -> World:
    return make_world(PIPELINE)


def through_staging(w: World, version: str) -> str:
    """Create a release; dev and staging take it automatically (staging 10 min later)."""
    rel = w.release(version)
    w.write(lambda s: auto_promote_roots(w.rt, s, rel.id))
    (dev,) = [p for p in w.promotions("dev") if p.release_id == rel.id]
    assert w.reconcile(dev.id).state == "Succeeded"
    w.clock.advance(10 * MIN)
    (stg,) = [p for p in w.promotions("staging") if p.release_id == rel.id]
    assert w.reconcile(stg.id).state == "Succeeded"
    return rel.id


def into_prod(w: World, release_id: str, *, idle: int, approval: int) -> str:
    """Ask for prod `idle` minutes after staging verified; approve `approval` min later."""
    w.clock.advance(idle * MIN)
    p = w.write(lambda s: create_promotion(w.rt, s, release_id, "prod", actor=ALICE))
    assert w.reconcile(p.id).state == "Waiting"
    w.clock.advance(approval * MIN)
    w.write(lambda s: requests.approve(w.rt, s, p.id, actor=BOB, decision="approve"))
    w.reconcile(p.id)
    return p.id


def report(w: World, **kw: object) -> Insights:
    return insights(
        w.rt.db,
        w.rt.project,
        since=T0 - timedelta(days=1),
        until=w.clock.now() + MIN,
        **kw,  # type: ignore[arg-type]
    )


def test_a_release_through_to_prod_gives_lead_time_and_where_it_waited(w: World) -> None:
    rel = through_staging(w, "1.0")
    pid = into_prod(w, rel, idle=60, approval=120)
    assert w.get(pid).state == "Succeeded"

    r = report(w)
    assert r.production is not None and r.production.environments == ("prod",)
    d = r.production.dora
    assert d.deployments == 1 and d.changes_deployed == 1 and d.change_failure_rate == 0.0
    # Verified in prod 10 + 60 + 120 minutes after the release was created.
    assert d.lead_time.p50_seconds == 190 * 60
    assert d.time_to_restore.count == 0 and d.time_to_restore.p50_seconds is None
    flow = r.production.flow
    stages = {s.name: s for s in flow.stages}
    assert stages["ready"].p50_seconds == 60 * 60  # verified in staging, nobody asked yet
    assert stages["gates"].p50_seconds == 120 * 60
    (approval,) = flow.gates
    assert approval.name == "approval" and approval.p50_seconds == 120 * 60
    assert flow.bottleneck == "gate:approval"
    tiers = {e.environment: e.tier for e in r.environments}
    assert tiers == {"dev": "development", "staging": "staging", "prod": "production"}
    staging = {e.environment: e for e in r.environments}["staging"]
    assert staging.dora.deployments == 1 and staging.dora.lead_time.p50_seconds == 10 * 60
    assert [a.app for a in staging.apps] == ["web"]


def test_a_failed_verification_rolled_back_is_a_change_failure_restored(w: World) -> None:
    into_prod(w, through_staging(w, "1.0"), idle=5, approval=5)
    bad = through_staging(w, "2.0")
    w.verifier.script = ["failed"]
    failing = into_prod(w, bad, idle=5, approval=5)
    assert w.get(failing).state == "RollingBack"
    w.clock.advance(7 * MIN)
    (rollback,) = w.read(lambda s: store.rollbacks_of(s, failing))
    assert w.reconcile(rollback.id).state == "Succeeded"
    assert w.get(failing).state == "RolledBack"

    d = report(w).production
    assert d is not None
    assert (d.dora.deployments, d.dora.rollbacks) == (1, 1)
    assert (d.dora.change_failures, d.dora.changes_deployed) == (1, 2)
    assert d.dora.change_failure_rate == 0.5
    assert d.dora.time_to_restore.p50_seconds == 7 * 60 and d.dora.unrestored == 0
    # Only the verified release has a lead time.
    assert d.dora.lead_time.count == 1


def test_a_manual_rollback_counts_the_undone_promotion_as_failed(w: World) -> None:
    into_prod(w, through_staging(w, "1.0"), idle=5, approval=5)
    into_prod(w, through_staging(w, "2.0"), idle=5, approval=5)
    w.clock.advance(30 * MIN)
    back = w.write(lambda s: requests.rollback(w.rt, s, "prod", "web", actor=BOB))
    w.clock.advance(3 * MIN)
    assert w.reconcile(back.id).state == "Succeeded"

    d = report(w, environment="prod", app="web").production
    assert d is not None
    assert (d.dora.change_failures, d.dora.changes_deployed) == (1, 2)
    assert d.dora.time_to_restore.p50_seconds == 3 * 60


def test_an_open_wait_counts_up_to_the_range_end(w: World) -> None:
    rel = through_staging(w, "1.0")
    p = w.write(lambda s: create_promotion(w.rt, s, rel, "prod", actor=ALICE))
    assert w.reconcile(p.id).state == "Waiting"
    w.clock.advance(45 * MIN)
    r = insights(w.rt.db, w.rt.project, since=T0, until=w.clock.now())
    assert r.production is not None
    (approval,) = r.production.flow.gates
    assert approval.open == 1 and approval.count == 0
    assert approval.total_seconds == 45 * 60
    assert r.production.dora.deployments == 0 and r.production.dora.lead_time.count == 0


def test_letting_a_rollback_go_first_is_recorded_as_a_wait(w: World) -> None:
    into_prod(w, through_staging(w, "1.0"), idle=1, approval=1)
    into_prod(w, through_staging(w, "2.0"), idle=1, approval=1)
    rel = through_staging(w, "3.0")
    held = w.write(lambda s: create_promotion(w.rt, s, rel, "prod", actor=ALICE))
    assert w.reconcile(held.id).state == "Waiting"
    back = w.write(lambda s: requests.rollback(w.rt, s, "prod", "web", actor=BOB))
    w.clock.advance(2 * MIN)
    assert w.reconcile(held.id).reason == f"letting rollback {back.id} go first"
    step = [st for st in w.steps(held.id) if st.name == "gates"][-1]
    assert step.data == {"results": [], "waiting_on": ["rollback"]}
    w.clock.advance(4 * MIN)
    assert w.reconcile(back.id).state == "Succeeded"
    w.reconcile(held.id)  # waits for its approval again
    w.clock.advance(1 * MIN)

    r = report(w)
    assert r.production is not None
    gates = {g.name: g for g in r.production.flow.gates}
    assert gates["rollback"].total_seconds == 4 * 60
    assert gates["approval"].open == 1


def test_ranges_and_names_are_checked(w: World) -> None:
    with pytest.raises(InvalidError, match="earlier than until"):
        insights(w.rt.db, w.rt.project, since=T0, until=T0)
    with pytest.raises(InvalidError, match="longer than 366 days"):
        insights(w.rt.db, w.rt.project, since=T0 - timedelta(days=400), until=T0)
    with pytest.raises(NotFoundError, match="did you mean 'prod'"):
        insights(w.rt.db, w.rt.project, environment="prd")
    with pytest.raises(NotFoundError, match="app 'wbe'"):
        insights(w.rt.db, w.rt.project, app="wbe")


def test_the_default_range_is_the_last_30_days(w: World) -> None:
    r = insights(w.rt.db, w.rt.project, clock=w.clock)
    assert r.until == w.clock.now() and r.days == 30.0
    w.clock.advance(MIN)
    naive = insights(w.rt.db, None, since=T0.replace(tzinfo=None), until=None, clock=w.clock)
    assert naive.since == T0 and naive.production is None  # no project: no tiers


def test_a_range_past_the_calendar_is_refused_not_a_crash(w: World) -> None:
    from datetime import UTC, datetime

    with pytest.raises(InvalidError, match="outside the calendar"):
        insights(w.rt.db, w.rt.project, until=datetime(1, 1, 2, tzinfo=UTC))
