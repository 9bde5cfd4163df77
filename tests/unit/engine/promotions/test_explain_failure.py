"""`explain` of a failed or rolled-back promotion leads with the root cause (which check
failed, why, where the Job's logs are), says the rollback was automatic and that a hold
is now set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.explain import explain_promotion
from shiplane.engine.verification import VerifyRound
from tests.unit.engine.promotions.conftest import ALICE, World


@pytest.fixture
def flat(make_world: Callable[..., World]) -> World:
    """staging without an upstream, rolling back by itself on failure."""
    return make_world({"staging": {"rollback": {"onFailure": "auto"}}})


JOB_FAILED = "Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
LOGS = "\n".join(
    [
        "pod smoke-7f3a-x1: phase Failed",
        "  container smoke: exit code 1 (Error)",
        "  --- log of smoke (last 50 lines) ---",
        *[f"  step {i} ok" for i in range(30)],
        "  GET /healthz -> 503",
    ]
)


async def smoke_fails(**kwargs: Any) -> VerifyRound:
    result = {
        "check": "smoke",
        "kind": "job",
        "outcome": "failed",
        "reason": f"{JOB_FAILED} (Job ns-staging/smoke-7f3a)",
        "measurements": [],
        "logs": LOGS,
    }
    return VerifyRound(
        "failed",
        f"check smoke failed: {result['reason']}",
        None,
        {**kwargs["state"], "healthy": True},
        [("smoke", result)],
    )


def explained(w: World, promotion_id: str) -> str:
    return w.read(lambda s: explain_promotion(s, promotion_id, now=w.clock.now()))


def test_a_rolled_back_promotion_leads_with_its_root_cause(flat: World) -> None:
    good = flat.release("1.0")
    first = flat.write(lambda s: create_promotion(flat.rt, s, good.id, "staging", actor=ALICE))
    assert flat.reconcile(first.id).state == "Succeeded"
    bad = flat.release("2.0")
    p = flat.write(lambda s: create_promotion(flat.rt, s, bad.id, "staging", actor=ALICE))
    flat.rt.verify_round = smoke_fails
    assert flat.reconcile(p.id).state == "RollingBack"
    rollback_id = next(r.id for r in flat.promotions("staging") if r.rollback_of == p.id)
    flat.rt.verify_round = flat.verifier
    assert flat.reconcile(rollback_id).state == "Succeeded"
    assert flat.get(p.id).state == "RolledBack"

    lines = explained(flat, p.id).splitlines()
    assert lines[0].endswith("State: RolledBack.")
    assert lines[1] == f"Root cause: check smoke failed: {JOB_FAILED} (Job ns-staging/smoke-7f3a)"
    assert lines[2].startswith("  Job logs: `kubectl logs -n ns-staging job/smoke-7f3a`")
    assert lines[3] == "  Recorded when it failed (last 15 of 34 lines):"
    assert lines[18] == "      GET /healthz -> 503"
    assert lines[19] == (
        f"Rolled back automatically by shiplane: rolling back to {good.id} with {rollback_id}."
    )
    assert lines[20] == f"The rollback succeeded (rolled back by {rollback_id})."
    assert lines[21] == (
        f"Hold: staging/web is now held (rollback {rollback_id}, by shiplane): "
        "auto-promotion leaves it alone until `shiplane unhold staging web`."
    )
    assert lines[22] == f"Reason: rolled back by {rollback_id}"


def test_a_failure_without_a_rollback_says_so(flat: World) -> None:
    p = flat.write(
        lambda s: create_promotion(flat.rt, s, flat.release("1.0").id, "staging", actor=ALICE)
    )
    flat.rt.verify_round = smoke_fails
    failed = flat.reconcile(p.id)
    assert failed.state == "Failed"
    lines = explained(flat, p.id).splitlines()
    assert lines[1].startswith("Root cause: check smoke failed: Job failed")
    assert "Not rolled back automatically: no earlier verified release to roll back to." in lines
    assert not any(line.startswith("Hold:") for line in lines)  # nothing was pinned
