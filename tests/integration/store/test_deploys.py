"""Deploy runs, inventories and deployment status, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shiplane.domain.pagination import InvalidCursorError
from shiplane.store import deploys
from shiplane.store.db import Database
from shiplane.store.matrix import get_matrix


def test_run_steps_and_finish_are_recorded(db: Database) -> None:
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with db.session() as s:
        run = deploys.start_run(
            s,
            group_id="g1",
            environment="dev",
            app="web",
            kind="deploy",
            release_id=None,
            actor="alice",
            now=lambda: t0,
        )
        deploys.record_step(s, run.id, name="render", outcome="running", started_at=t0)
        deploys.record_step(
            s,
            run.id,
            name="render",
            outcome="ok",
            started_at=t0,
            detail="3 objects",
            now=lambda: t0 + timedelta(seconds=1),
        )
        deploys.record_step(s, run.id, name="apply", outcome="failed", started_at=t0, detail="boom")
        deploys.finish_run(s, run.id, status="failed", git_commit="abc", error="boom")
    with db.session() as s:
        got = deploys.get_run(s, run.id)
    assert got is not None
    assert [(st.name, st.outcome) for st in got.steps] == [("render", "ok"), ("apply", "failed")]
    assert got.steps[0].detail == "3 objects"
    assert (got.status, got.git_commit, got.error) == ("failed", "abc", "boom")
    assert got.finished_at is not None


def test_runs_list_newest_first_filtered_and_paginated(db: Database) -> None:
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with db.session() as s:
        for i in range(7):
            deploys.start_run(
                s,
                group_id=f"g{i}",
                environment="dev" if i % 2 else "prod",
                app="web",
                kind="sync",
                release_id=None,
                actor="bot",
                now=lambda i=i: t0 + timedelta(minutes=i),
            )
    seen: list[str] = []
    cursor = None
    with db.session() as s:
        while True:
            page = deploys.list_runs(s, environment="prod", limit=2, cursor=cursor)
            seen += [r.group_id for r in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        with pytest.raises(InvalidCursorError):
            deploys.list_runs(s, cursor="garbage")
    assert seen == ["g6", "g4", "g2", "g0"]


def test_inventory_round_trip_and_update(db: Database) -> None:
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "n", "name": "a"}]
    with db.session() as s:
        assert deploys.get_inventory(s, "dev", "web") is None
        deploys.save_inventory(s, "dev", "web", objs, git_commit="c1")
    with db.session() as s:
        assert deploys.get_inventory(s, "dev", "web") == objs
        deploys.save_inventory(s, "dev", "web", [], git_commit="c2")
    with db.session() as s:
        assert deploys.get_inventory(s, "dev", "web") == []


def test_update_deployment_writes_only_changes(db: Database) -> None:
    with db.session() as s:
        assert deploys.update_deployment(
            s, environment="dev", app="web", health="Progressing", sync_status="Synced"
        )
        assert not deploys.update_deployment(s, environment="dev", app="web", health="Progressing")
        assert deploys.update_deployment(
            s, environment="dev", app="web", health="Healthy", health_reason="all resources healthy"
        )
    with db.session() as s:
        (cell,) = get_matrix(s, apps=["web"], environments=["dev"])
    assert (cell.health, cell.sync_status) == ("Healthy", "Synced")


def test_running_in_and_deployed_commits(db: Database) -> None:
    with db.session() as s:
        deploys.update_deployment(s, environment="dev", app="web", health="Healthy")
        assert deploys.running_in(s, "dev") == {"web": None}  # synced from git, unpinned
        assert deploys.deployed_commits(s, ["dev", "prod"]) == {}  # nothing applied yet
        deploys.update_deployment(s, environment="dev", app="web", git_commit="abc123")
        assert deploys.deployed_commits(s, ["dev", "prod"]) == {("dev", "web"): "abc123"}
        assert deploys.deployed_commits(s, ["prod"]) == {}
        assert deploys.running_in(s, "prod") == {}
