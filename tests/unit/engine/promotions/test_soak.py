"""`soak` on an environment holds promotions into it until the release has been verified
upstream for that long (README, `shiplane init`), and `explain` counts down from now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.explain import explain_promotion
from tests.unit.engine.promotions.conftest import ALICE, World


def test_soak_on_prod_holds_promotions_into_prod(make_world: Callable[..., World]) -> None:
    w = make_world({"staging": {}, "prod": {"after": ["staging"], "soak": "20s"}})
    rel = w.release("1.0")
    staging = w.write(lambda s: create_promotion(w.rt, s, rel.id, "staging", actor=ALICE))
    assert w.reconcile(staging.id).state == "Succeeded"
    verified_at = w.clock.now()

    prod = w.write(lambda s: create_promotion(w.rt, s, rel.id, "prod", actor=ALICE))
    waiting = w.reconcile(prod.id)
    assert waiting.state == "Waiting", waiting.reason
    assert waiting.reason.startswith("soak: soaking in staging: 20s after verification")
    assert waiting.next_check_at == verified_at + timedelta(seconds=20)

    def explained() -> str:
        return w.read(lambda s: explain_promotion(s, prod.id, now=w.clock.now()))

    assert "; 20s left" in explained()
    w.clock.advance(timedelta(seconds=12))  # no re-evaluation in between: still counts down
    assert "; 8s left" in explained()
    assert w.reconcile(prod.id).state == "Waiting"
    w.clock.advance(timedelta(seconds=8))
    assert w.reconcile(prod.id).state == "Succeeded"
