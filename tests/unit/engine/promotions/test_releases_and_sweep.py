"""A release is stored with its root auto-promotions or not at all, and the sweep gives
the newest release its root auto-promotions however it arrived (level-triggered)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from shiplane.engine.promotions import PromotionController, auto, requests
from shiplane.engine.promotions import releases as engine_releases
from shiplane.store import audit, releases
from shiplane.store.models import Release
from tests.unit.engine.promotions.conftest import ALICE, World

ARTIFACTS = {"web": "r.example/web:9.9"}


def create(w: World) -> tuple[str, bool]:
    record, created = w.write(
        lambda s: engine_releases.create_release(
            w.rt, s, artifacts=ARTIFACTS, alias="9.9", labels={}, creator="ci"
        )
    )
    return record.id, created


def test_a_new_release_is_stored_with_its_audit_event_and_root_promotions(world: World):
    release_id, created = create(world)
    assert created
    (dev,) = world.promotions("dev")
    assert (dev.release_id, dev.trigger) == (release_id, "auto")
    assert world.promotions("staging") == []  # not a root: it waits for dev's verification
    assert world.actions() == ["release.create", "promotion.create"]
    # The same contents again: the same release, nothing new.
    assert create(world) == (release_id, False)
    assert len(world.promotions("dev")) == 1


def test_a_failure_creating_the_promotions_leaves_no_release(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    def broken(*_: object) -> None:
        raise RuntimeError("the process dies here")

    monkeypatch.setattr(engine_releases, "auto_promote_roots", broken)
    with pytest.raises(RuntimeError):
        create(world)
    assert world.read(lambda s: s.scalars(select(Release)).all()) == []
    assert world.read(lambda s: audit.list_events(s).items) == []


def test_the_sweep_promotes_the_newest_release_into_roots_once(world: World):
    older = world.release("1.0")
    newer = world.release("2.0")  # stored without an engine: no promotion yet
    missing = world.read(lambda s: auto.unpromoted_roots(world.rt, s))
    assert missing == [(newer.id, "dev")]  # the older one is superseded anyway
    assert world.write(lambda s: auto.sweep_roots(world.rt, s, missing)) == ["dev"]
    (dev,) = world.promotions("dev")
    assert dev.release_id == newer.id and dev.release_id != older.id
    assert world.read(lambda s: auto.unpromoted_roots(world.rt, s)) == []
    # Swept twice (another replica, same moment): checked again under the lock.
    assert world.write(lambda s: auto.sweep_roots(world.rt, s, missing)) == []


def test_the_sweep_leaves_an_aborted_promotion_aborted(world: World):
    create(world)
    (dev,) = world.promotions("dev")
    world.write(lambda s: requests.abort(world.rt, s, dev.id, actor=ALICE, reason="not this"))
    assert world.read(lambda s: auto.unpromoted_roots(world.rt, s)) == []


def test_the_sweep_skips_a_held_environment(world: World):
    from shiplane.engine.promotions.controls import set_hold

    world.write(lambda s: set_hold(world.rt, s, "dev", "web", actor=ALICE, on=True))
    rel = world.write(
        lambda s: releases.create_release(
            s, artifacts=ARTIFACTS, alias=None, labels={}, creator="ci"
        )
    )[0]
    missing = world.read(lambda s: auto.unpromoted_roots(world.rt, s))
    assert missing == [(rel.id, "dev")]
    assert world.write(lambda s: auto.sweep_roots(world.rt, s, missing)) == []
    assert world.promotions("dev") == []


def test_the_controller_sweeps_each_pair_once_per_process(world: World):
    controller = PromotionController(
        world.rt.db, world.rt.project, world.deployer, world.rt.clusters, clock=world.clock
    )
    bad = world.write(
        lambda s: releases.create_release(
            s,
            artifacts={"api": "r.example/api:1"},
            alias=None,
            labels={},
            creator="ci",
            now=world.clock.now,
        )
    )[0]

    async def twice() -> tuple[list[str], list[str]]:
        return await controller.sweep_auto_promotions(), await controller.sweep_auto_promotions()

    # `api` needs `web`, which dev does not run: tried once, refused, not retried each tick.
    assert asyncio.run(twice()) == ([], [])
    assert controller._swept == {(bad.id, "dev")}
    good = world.release("1.0")
    assert asyncio.run(controller.sweep_auto_promotions()) == ["dev"]
    assert [p.release_id for p in world.promotions("dev")] == [good.id]
