"""A rollback never queues behind a promotion held at a gate (docs/gates.md, "Queueing"):
it runs first, and the held promotion is evaluated afresh after it. A freeze lets it
through only with `allowRollback`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shiplane.engine.promotions import requests
from shiplane.engine.promotions.controls import set_freeze
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.explain import explain_promotion
from shiplane.store.promotions import PromotionRecord
from tests.unit.engine.promotions.conftest import ALICE, BOB, World

APPROVED = {"approvals": {"required": 1, "groups": ["release-managers"]}}


def promote_approved(w: World, version: str) -> PromotionRecord:
    rel = w.release(version)
    p = w.write(lambda s: create_promotion(w.rt, s, rel.id, "prod", actor=ALICE))
    assert w.reconcile(p.id).state == "Waiting"
    w.write(lambda s: requests.approve(w.rt, s, p.id, actor=BOB, decision="approve"))
    return w.reconcile(p.id)


def running_two_then_held(make_world: Callable[..., World], **prod: Any) -> tuple[World, str]:
    """prod runs web 2.0 (1.0 before it); a promotion of 3.0 waits for its approval."""
    w = make_world({"prod": {**APPROVED, **prod}})
    assert promote_approved(w, "1.0").state == "Succeeded"
    assert promote_approved(w, "2.0").state == "Succeeded"
    rel = w.release("3.0")
    held = w.write(lambda s: create_promotion(w.rt, s, rel.id, "prod", actor=ALICE))
    assert w.reconcile(held.id).state == "Waiting"
    return w, held.id


def test_a_rollback_runs_before_a_promotion_waiting_for_approval(
    make_world: Callable[..., World],
) -> None:
    w, held = running_two_then_held(make_world)
    rollback = w.write(lambda s: requests.rollback(w.rt, s, "prod", "web", actor=BOB))

    # Even approved meanwhile, the held promotion lets the rollback go first.
    w.write(lambda s: requests.approve(w.rt, s, held, actor=BOB, decision="approve"))
    waiting = w.reconcile(held)
    assert waiting.state == "Waiting"
    assert waiting.reason == f"letting rollback {rollback.id} go first"
    text = w.read(lambda s: explain_promotion(s, held, now=w.clock.now()))
    assert f"Now: letting rollback {rollback.id} go first." in text.splitlines()

    assert w.reconcile(rollback.id).state == "Succeeded"
    assert [c["kind"] for c in w.deployer.calls][-1] == "rollback"
    # The rollback's end makes the held promotion due at once, evaluated afresh.
    assert w.get(held).next_check_at is None
    assert w.reconcile(held).state == "Succeeded"


def test_a_freeze_lets_a_rollback_through_only_with_allow_rollback(
    make_world: Callable[..., World],
) -> None:
    for allow in (True, False):
        w, held = running_two_then_held(make_world, freeze={"allowRollback": allow})
        w.write(lambda s, w=w: set_freeze(w.rt, s, "prod", actor=BOB, on=True, reason="inc 42"))
        rollback = w.write(lambda s, w=w: requests.rollback(w.rt, s, "prod", "web", actor=BOB))
        after = w.reconcile(rollback.id)
        if allow:
            assert after.state == "Succeeded", after.reason
        else:
            assert after.state == "Waiting" and "frozen by bob: inc 42" in after.reason
        assert w.reconcile(held).state == "Waiting"
