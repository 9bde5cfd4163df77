"""The store reads a release's page is built on (timeline, where it runs), on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.store import deploys, releases
from shiplane.store import promotions as store
from shiplane.store.db import Database

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _promotion(pid: str, release_id: str, environment: str, at: datetime) -> Promotion:
    return Promotion(
        id=pid,
        release_id=release_id,
        environment=environment,
        apps=("web",),
        requested_by="alice",
        created_at=at,
        state=PromotionState.PENDING,
        updated_at=at,
    )


def test_promotions_of_a_release_with_their_steps_and_where_it_runs(db: Database) -> None:
    with db.session() as s:
        rel, _ = releases.create_release(
            s, artifacts={"web": "r.example/web:1"}, alias=None, labels={}, creator="ci"
        )
        other, _ = releases.create_release(
            s, artifacts={"web": "r.example/web:2"}, alias=None, labels={}, creator="ci"
        )
        # Inserted out of order: read back by creation time.
        for pid, release_id, env, minutes in (
            ("prm-b", rel.id, "prod", 5),
            ("prm-a", rel.id, "dev", 0),
            ("prm-c", other.id, "dev", 1),
        ):
            at = T0 + timedelta(minutes=minutes)
            store.insert_promotion(
                s, _promotion(pid, release_id, env, at), next_check_at=None, data={}
            )
        for name in ("requested", "-> Waiting", "-> Deploying"):
            store.add_step(s, "prm-a", Step(name, T0, T0, "succeeded", name))
        store.add_step(s, "prm-b", Step("requested", T0, T0, "succeeded", ""))
        deploys.update_deployment(
            s, environment="dev", app="web", release_id=rel.id, git_commit="a" * 40,
            health="Healthy", sync_status="Synced",
        )  # fmt: skip
        deploys.update_deployment(
            s, environment="prod", app="web", release_id=other.id, git_commit="b" * 40
        )
    with db.session(readonly=True) as s:
        mine = store.promotions_of_release(s, rel.id)
        steps = store.steps_of(s, [p.id for p in mine])
        running = deploys.where_release_runs(s, rel.id)
        none = store.steps_of(s, [])
    assert [p.id for p in mine] == ["prm-a", "prm-b"]
    assert [st.name for st in steps["prm-a"]] == ["requested", "-> Waiting", "-> Deploying"]
    assert [st.name for st in steps["prm-b"]] == ["requested"]
    assert [(d.environment, d.app, d.health, d.sync_status) for d in running] == [
        ("dev", "web", "Healthy", "Synced")
    ]
    assert none == {}
