"""The apps x environments matrix on SQLite and PostgreSQL."""

from __future__ import annotations

from shiplane.store.db import Database
from shiplane.store.matrix import get_matrix, record_deployment
from shiplane.store.releases import create_release


def test_empty_matrix_has_every_cell(db: Database) -> None:
    with db.session() as s:
        cells = get_matrix(s, apps=["checkout", "payments"], environments=["dev", "qa", "prod"])
    assert [(c.app, c.environment) for c in cells] == [
        ("checkout", "dev"), ("checkout", "qa"), ("checkout", "prod"),
        ("payments", "dev"), ("payments", "qa"), ("payments", "prod"),
    ]  # fmt: skip
    assert all(c.release_id is None and c.health is None for c in cells)
    with db.session() as s:
        assert get_matrix(s, apps=[], environments=["dev"]) == []
        assert get_matrix(s, apps=["a"], environments=[]) == []


def test_matrix_with_deployments(db: Database) -> None:
    with db.session() as s:
        rel, _ = create_release(
            s, artifacts={"checkout": "r.example/c:1"}, alias="c1", labels={}, creator="ci"
        )
        record_deployment(
            s, environment="dev", app="checkout", release_id=rel.id, git_commit="abc123",
            sync_status="Synced", health="Healthy",
        )  # fmt: skip
        record_deployment(s, environment="other", app="checkout", release_id=rel.id)
    with db.session() as s:
        record_deployment(
            s, environment="dev", app="checkout", release_id=rel.id, git_commit="def456",
            sync_status="OutOfSync", health="Progressing",
        )  # fmt: skip
    with db.session() as s:
        cells = get_matrix(s, apps=["checkout", "payments"], environments=["dev", "qa"])
    by_key = {(c.app, c.environment): c for c in cells}
    dev = by_key[("checkout", "dev")]
    assert (dev.release_id, dev.release_alias, dev.git_commit, dev.sync_status, dev.health) == (
        rel.id, "c1", "def456", "OutOfSync", "Progressing",
    )  # fmt: skip
    assert dev.updated_at is not None
    assert by_key[("checkout", "qa")].release_id is None
    assert by_key[("payments", "dev")].release_id is None
    assert len(cells) == 4


def test_large_matrix(db: Database) -> None:
    apps = [f"app-{i}" for i in range(1200)]  # more than one IN chunk
    with db.session() as s:
        record_deployment(s, environment="dev", app="app-1100", release_id=None, health="Healthy")
        cells = get_matrix(s, apps=apps, environments=["dev", "qa"])
    assert len(cells) == 2400
    assert [c.app for c in cells if c.health == "Healthy"] == ["app-1100"]


def test_a_cell_whose_release_deploys_a_mutable_tag_is_marked_unresolved(db: Database) -> None:
    digest = "sha256:" + "d" * 64
    with db.session() as s:
        rel, _ = create_release(
            s, artifacts={"checkout": "r.example/c:1", "payments": f"r.example/p:1@{digest}"},
            alias="mixed", labels={}, creator="ci",
        )  # fmt: skip
        for app in ("checkout", "payments"):
            record_deployment(s, environment="dev", app=app, release_id=rel.id)
        record_deployment(s, environment="qa", app="checkout", release_id=None, health="Healthy")
    with db.session() as s:
        cells = get_matrix(s, apps=["checkout", "payments"], environments=["dev", "qa"])
    marked = {(c.app, c.environment): c.unresolved for c in cells}
    assert marked == {
        ("checkout", "dev"): True,  # a tag without a digest (`releases.digests`)
        ("checkout", "qa"): False,  # no release pinned there
        ("payments", "dev"): False,
        ("payments", "qa"): False,  # nothing deployed
    }
