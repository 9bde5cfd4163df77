"""The insights queries and service on SQLite and PostgreSQL: the same history gives the
same figures on both, and the range query reads only what the range needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiplane.config import load_project_text
from shiplane.engine.insights import insights
from shiplane.store import insights as queries
from shiplane.store.db import Database
from tests.support.api_project import PROJECT_YAML
from tests.support.insights_history import (
    APPROVAL_WAIT,
    LEAD_TIME,
    RESTORE,
    write_history,
)

BASE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PROJECT = load_project_text(
    PROJECT_YAML.replace(
        "prod: {cluster: local, namespace: prod, after: [staging]}",
        "prod: {cluster: local, namespace: prod, after: [staging], tier: production}",
    )
)


def test_the_same_history_gives_the_same_figures_on_both_backends(db: Database) -> None:
    with db.session() as s:
        write_history(s, "checkout", BASE)
    r = insights(db, PROJECT, since=BASE, until=BASE + timedelta(days=1))
    assert r.production is not None and r.production.environments == ("prod",)
    d = r.production.dora
    assert (d.deployments, d.rollbacks, d.changes_deployed, d.change_failures) == (1, 1, 2, 1)
    assert d.change_failure_rate == 0.5
    assert d.lead_time.p50_seconds == LEAD_TIME
    assert d.time_to_restore.p50_seconds == RESTORE and d.unrestored == 0
    flow = r.production.flow
    assert flow.bottleneck == "gate:approval"
    assert [(g.name, g.total_seconds) for g in flow.gates] == [("approval", APPROVAL_WAIT)]
    ready = {s.name: s for s in flow.stages}["ready"]
    assert ready.p50_seconds == timedelta(hours=1, minutes=50).total_seconds()
    (app,) = r.production.apps
    assert app.app == "checkout" and app.dora.lead_time.p50_seconds == LEAD_TIME


def test_the_range_query_reads_the_promotions_that_changed_in_it_or_are_open(
    db: Database,
) -> None:
    with db.session() as s:
        written = write_history(s, "checkout", BASE)
    staging, prod_ok, prod_failed, rollback = written.promotion_ids
    with db.session(readonly=True) as s:
        everything = queries.promotion_histories(s, since=BASE, until=BASE + timedelta(days=1))
        late = queries.promotion_histories(
            s, since=BASE + timedelta(hours=7, minutes=25), until=BASE + timedelta(days=1)
        )
        early = queries.promotion_histories(s, since=BASE, until=BASE + timedelta(hours=2))
        prod_only = queries.promotion_histories(
            s, since=BASE, until=BASE + timedelta(days=1), environments=["prod"]
        )
        facts = queries.verifications_of(s, list(written.release_ids))
    assert [h.id for h in everything] == [staging, prod_ok, prod_failed, rollback]
    assert [h.id for h in late] == [prod_failed, rollback]  # changed at or after `since`
    assert [h.id for h in early] == [staging]  # created before `until`
    assert {h.environment for h in prod_only} == {"prod"}
    failed = {h.id: h for h in everything}[prod_failed]
    assert failed.committed and [m.state.value for m in failed.moves] == [
        "Waiting", "Deploying", "Verifying", "Failed", "RollingBack", "RolledBack",
    ]  # fmt: skip
    approval = {h.id: h for h in everything}[prod_ok].gate_evaluations
    assert [sorted(e.waiting) for e in approval] == [["approval"]]
    assert [(f.environment, f.promotion_id) for f in facts] == [
        ("staging", staging), ("prod", prod_ok), ("prod", rollback),
    ]  # fmt: skip


def test_an_empty_database_gives_null_measures(db: Database) -> None:
    r = insights(db, PROJECT, since=BASE, until=BASE + timedelta(days=7))
    assert r.production is not None
    assert r.production.dora.deployments == 0
    assert r.production.dora.lead_time.p50_seconds is None
    assert r.production.dora.change_failure_rate is None


def test_waiting_gates_reads_old_and_new_gates_steps() -> None:
    results = [
        {"gate": "approval", "outcome": "wait"},
        {"gate": "window", "outcome": "pass"},
    ]
    assert queries.waiting_gates({"results": results}) == {"approval"}
    assert queries.waiting_gates({"results": [], "waiting_on": ["rollback"]}) == {"rollback"}
    assert queries.waiting_gates(None) == frozenset()
