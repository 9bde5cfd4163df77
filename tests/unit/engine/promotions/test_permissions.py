"""What the UI offers on a promotion: each action allowed or refused with the engine's
reason, computed by the same checks the request functions run (never a second copy)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from shiplane.domain.errors import ShiplaneError
from shiplane.domain.roles import Role
from shiplane.engine.promotions import PromotionController, requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.model import Actor, PromotionData
from shiplane.engine.promotions.permissions import (
    ACTIONS,
    ActionCheck,
    Caller,
    allowed_actions,
)
from shiplane.engine.promotions.transitions import save
from shiplane.gates.checks.base import CheckResult
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from tests.unit.engine.promotions.conftest import (
    ALICE,
    BOB,
    PIPELINE,
    FakeClusters,
    FakeDeployer,
    World,
    project,
)

CAROL = Actor("carol", ("developers",))


def _actions(w: World, record: PromotionRecord, caller: Caller) -> dict[str, ActionCheck]:
    now = w.rt.now()

    def read(s: Session) -> dict[str, ActionCheck]:
        fresh = store.get_promotion(s, record.id)
        assert fresh is not None
        return dict(allowed_actions(w.rt.project, s, fresh, caller, now))

    return w.read(read)


def _refusal(w: World, fn: Callable[[Session], Any]) -> str:
    with pytest.raises(ShiplaneError) as info:
        w.write(fn)
    return info.value.message


def _waiting_in_prod(w: World) -> PromotionRecord:
    rel = w.release("1.0")
    p = w.write(lambda s: create_promotion(w.rt, s, rel.id, "prod", actor=ALICE))
    record = w.reconcile(p.id)
    assert record.state == "Waiting"
    return record


def test_the_requester_may_not_approve_and_is_told_why(world: World) -> None:
    p = _waiting_in_prod(world)
    mine = _actions(world, p, Caller(ALICE, Role.APPROVER))
    assert not mine["approve"].allowed
    assert "alice requested this promotion and cannot approve it" in mine["approve"].reason
    # Rejecting is not about separation of duties: the requester may stop it.
    assert mine["reject"].allowed
    # The words are those of the request itself.
    said = _refusal(
        world, lambda s: requests.approve(world.rt, s, p.id, actor=ALICE, decision="approve")
    )
    assert said == mine["approve"].reason
    bobs = _actions(world, p, Caller(BOB, Role.APPROVER))
    assert bobs["approve"] == ActionCheck(True)
    assert bobs["abort"].allowed and not bobs["retry"].allowed
    assert "only a failed, aborted, rolled back or superseded" in bobs["retry"].reason


def test_an_approval_counts_once(world: World) -> None:
    p = _waiting_in_prod(world)
    world.write(lambda s: requests.approve(world.rt, s, p.id, actor=BOB, decision="approve"))
    again = _actions(world, p, Caller(BOB, Role.APPROVER))["approve"]
    assert not again.allowed and "bob already approved" in again.reason


def test_roles_and_scopes_come_first(world: World) -> None:
    p = _waiting_in_prod(world)
    viewer = _actions(world, p, Caller(CAROL, Role.VIEWER))
    assert set(viewer) == set(ACTIONS)
    assert all(not c.allowed for c in viewer.values())
    assert viewer["abort"].reason == (
        "token 'carol' has role 'viewer'; this call needs 'promoter' or higher"
    )
    promoter = _actions(world, p, Caller(CAROL, Role.PROMOTER))
    assert promoter["abort"].allowed
    assert "needs 'approver' or higher" in promoter["approve"].reason
    scoped = _actions(world, p, Caller(BOB, Role.ADMIN, ("dev", "staging")))
    assert not scoped["approve"].allowed
    assert scoped["approve"].reason == (
        "token 'bob' is scoped to environments [dev, staging] and does not cover 'prod'"
    )
    # Someone outside the approver groups, with the approver role.
    outsider = _actions(world, p, Caller(CAROL, Role.APPROVER))["approve"]
    assert "approvals must come from group release-managers" in outsider.reason


def test_abort_retry_and_rollback_follow_the_state(world: World) -> None:
    rel = world.release("1.0")
    p = world.write(lambda s: create_promotion(world.rt, s, rel.id, "dev", actor=ALICE))
    world.reconcile(p.id)
    done = world.get(p.id)
    assert done.state == "Succeeded"
    acts = _actions(world, done, Caller(BOB, Role.ADMIN))
    assert not acts["abort"].allowed
    said = _refusal(world, lambda s: requests.abort(world.rt, s, p.id, actor=BOB, reason="x"))
    assert said == acts["abort"].reason
    assert not acts["retry"].allowed
    # Nothing earlier was verified in dev: nothing to roll back to.
    assert not acts["rollback"].allowed
    assert acts["rollback"].reason.startswith("no earlier release was verified in dev for web")
    # A second release verified: now there is something to go back to.
    rel2 = world.release("2.0")
    p2 = world.write(lambda s: create_promotion(world.rt, s, rel2.id, "dev", actor=ALICE))
    world.reconcile(p2.id)
    back = _actions(world, world.get(p2.id), Caller(BOB, Role.PROMOTER))["rollback"]
    assert back == ActionCheck(True, choices={"web": rel.id})
    assert not _actions(world, world.get(p2.id), Caller(BOB, Role.PROMOTER))["resolve"].allowed


def test_resolve_is_offered_for_an_inconclusive_check(world: World) -> None:
    world.verifier.script = ["running"]
    rel = world.release("1.0")
    p = world.write(lambda s: create_promotion(world.rt, s, rel.id, "dev", actor=ALICE))
    record = world.reconcile(p.id)
    assert record.state == "Verifying"
    pending = CheckResult("smoke", "inconclusive", "no data from prometheus").to_json()
    checks = {
        "smoke": {"check": "smoke", "pending": pending, "final": None},
        "latency": {"check": "latency", "pending": None, "final": None},
    }
    data = PromotionData.of(record)
    world.write(
        lambda s: save(
            world.rt,
            s,
            record.domain(),
            data=data.but(verify={"checks": checks}),
            next_check_at=None,
        )
    )
    acts = _actions(world, world.get(p.id), Caller(BOB, Role.APPROVER))
    assert acts["resolve"] == ActionCheck(True, choices={"smoke": "no data from prometheus"})
    said = _refusal(
        world,
        lambda s: requests.resolve_check(world.rt, s, p.id, "latency", passed=True, actor=BOB),
    )
    assert said == "check 'latency' is not inconclusive"
    world.write(
        lambda s: requests.resolve_check(world.rt, s, p.id, "smoke", passed=True, actor=BOB)
    )
    after = _actions(world, world.get(p.id), Caller(BOB, Role.APPROVER))["resolve"]
    assert not after.allowed and "has no check waiting for a person" in after.reason


def test_the_controller_offers_the_reads_with_its_clock(world: World) -> None:
    """What the UI and the API call: `actions`, `inbox`, `preview` on the controller."""
    p = _waiting_in_prod(world)
    controller = PromotionController(
        world.rt.db, world.rt.project, FakeDeployer(world.rt.db), FakeClusters(), clock=world.clock
    )
    bob = Caller(BOB, Role.APPROVER)
    actions = asyncio.run(controller.actions(p.id, bob))
    assert actions["approve"].allowed and not actions["retry"].allowed
    inbox = asyncio.run(controller.inbox(bob))
    assert [i.promotion.id for i in inbox] == [p.id]
    assert inbox[0].waiting_since == world.clock.now()
    preview = asyncio.run(controller.preview(p.release_id, "prod", bob))
    assert preview.requested_by == "bob" and preview.queued_behind == (p.id,)
    with pytest.raises(ShiplaneError, match="no promotion 'prm-nope'"):
        asyncio.run(controller.actions("prm-nope", bob))


def test_a_promotion_into_an_environment_gone_from_the_config(make_world) -> None:  # type: ignore[no-untyped-def]
    """Config followed from git may drop an environment; its old promotions still show."""
    w: World = make_world()
    rel = w.release("1.0")
    p = w.write(lambda s: create_promotion(w.rt, s, rel.id, "prod", actor=ALICE))
    smaller = project({k: v for k, v in PIPELINE.items() if k != "prod"})
    now = w.rt.now()

    def read(s: Session) -> dict[str, ActionCheck]:
        fresh = store.get_promotion(s, p.id)
        assert fresh is not None
        return dict(allowed_actions(smaller, s, fresh, Caller(BOB, Role.ADMIN), now))

    acts = w.read(read)
    assert acts["approve"] == ActionCheck(False, "environment prod needs no approvals")
    assert acts["abort"].allowed
