"""A new shiplane.yaml in force reaches promotions already waiting: their gates are
evaluated again at once, against the new version."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shiplane.engine.project_source import ProjectSource
from shiplane.engine.promotions import PromotionController
from shiplane.engine.promotions.create import create_promotion
from shiplane.store import audit
from tests.unit.engine.promotions.conftest import ALICE, World, project


def test_a_waiting_promotion_follows_a_new_approval_rule(make_world):  # type: ignore[no-untyped-def]
    strict = {"dev": {"approvals": {"required": 1, "groups": ["release-managers"]}}}
    world: World = make_world(strict)
    source = ProjectSource(world.rt.project, commit="a" * 40, following=True)
    controller = PromotionController(
        world.rt.db, source, world.deployer, world.rt.clusters, clock=world.clock
    )
    controller.runtime.verify_round = world.verifier
    p = world.write(
        lambda s: create_promotion(controller.runtime, s, world.release().id, "dev", actor=ALICE)
    )
    asyncio.run(controller.reconcile(p.id))
    waiting = world.get(p.id)
    assert waiting.state == "Waiting" and "approval" in waiting.reason

    source.apply(project({"dev": {}}), "b" * 40, Path("."))

    async def follow() -> None:
        await controller.follow_project()
        await controller.settle(30)

    asyncio.run(follow())
    assert world.get(p.id).state == "Succeeded"
    assert world.deployer.calls and world.deployer.calls[0]["environment"] == "dev"
    events = [e for e in world.read(lambda s: audit.list_events(s).items) if e.subject == p.id]
    # Each transition names the shiplane.yaml that decided it: waited under the old one,
    # went on under the new one.
    assert {e.details.get("config") for e in events} - {None} == {"a" * 40, "b" * 40}
