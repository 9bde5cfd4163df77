"""A release that does not fit the project is never promoted, however it was stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shiplane.config.release_fit import ReleaseMisfitError
from shiplane.engine.promotions.create import create_promotion
from shiplane.store import releases
from shiplane.store.records import ReleaseRecord
from tests.unit.engine.promotions.conftest import ALICE, World


def _stored(world: World, artifacts: dict[str, str]) -> ReleaseRecord:
    record, _ = world.write(
        lambda s: releases.create_release(
            s, artifacts=artifacts, alias=None, labels={}, creator="ci", now=world.clock.now
        )
    )
    return record


def test_a_foreign_image_or_unknown_app_is_refused_at_promotion(world: World) -> None:
    foreign = _stored(world, {"web": "r.example/not-web:1"})
    unknown = _stored(world, {"wbe": "r.example/web:1"})
    for release, words in ((foreign, "'r.example/not-web' is not one"), (unknown, "'wbe'")):
        with pytest.raises(ReleaseMisfitError, match=words) as info:
            world.write(
                lambda s, r=release: create_promotion(world.rt, s, r.id, "dev", actor=ALICE)
            )
        assert info.value.message.startswith(f"release {release.id} does not fit")
    assert world.promotions("dev") == []


def test_overrides_let_other_repositories_through(make_world: Callable[..., World]) -> None:
    world = make_world(releases={"allowImageOverrides": True})
    fork = _stored(world, {"web": "r.example/fork/web:1"})
    promotion = world.write(lambda s: create_promotion(world.rt, s, fork.id, "dev", actor=ALICE))
    assert promotion.state == "Pending"


def test_the_engine_refuses_a_misfit_release_at_creation(world: World) -> None:
    from shiplane.engine.promotions.releases import create_release

    def create(artifacts: dict[str, str]) -> None:
        world.write(
            lambda s: create_release(
                world.rt, s, artifacts=artifacts, alias=None, labels={}, creator="ci"
            )
        )

    with pytest.raises(ReleaseMisfitError, match=r"apps\.web\.images allows: r\.example/web"):
        create({"web": "r.example/api:1"})
    with pytest.raises(ReleaseMisfitError) as info:
        create({"wb": "r.example/web:1"})
    assert info.value.hint is not None and "did you mean 'web'?" in info.value.hint
    create({"web": "r.example/web:1"})
    assert len(world.write(lambda s: releases.list_releases(s).items)) == 1
