"""Configuration found invalid only at run time (an expression, a template) fails the
promotion at once with that reason: never Verifying forever with tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shiplane.domain.expressions import ExpressionError
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.explain import explain_promotion
from tests.unit.engine.promotions.conftest import ALICE, World

WRONG = ExpressionError("respnse.status == 200", "unknown name 'respnse'", 1, 1)


async def wrong_expression(**kwargs: Any) -> Any:
    raise WRONG


def test_an_invalid_expression_fails_the_promotion_at_once(
    make_world: Callable[..., World],
) -> None:
    w = make_world({"staging": {}})
    p = w.write(lambda s: create_promotion(w.rt, s, w.release("1.0").id, "staging", actor=ALICE))
    w.rt.verify_round = wrong_expression
    failed = w.reconcile(p.id)
    assert failed.state == "Failed"
    assert failed.reason == f"verification cannot run: {WRONG}"
    assert failed.next_check_at is None
    assert "promotion.failed" in w.actions()
    text = w.read(lambda s: explain_promotion(s, p.id, now=w.clock.now()))
    assert f"Root cause: verification cannot run: {WRONG}" in text.splitlines()


def test_a_gate_found_invalid_at_run_time_fails_the_promotion_at_once(
    make_world: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shiplane.engine.promotions import gates

    def broken(*args: Any) -> Any:
        raise WRONG

    monkeypatch.setattr(gates, "evaluate_all", broken)
    w = make_world({"staging": {}})
    p = w.write(lambda s: create_promotion(w.rt, s, w.release("1.0").id, "staging", actor=ALICE))
    failed = w.reconcile(p.id)
    assert (failed.state, failed.reason) == ("Failed", f"gates cannot be evaluated: {WRONG}")
    assert w.deployer.calls == []
