"""Health after an abort is read again from the live objects: the matrix never keeps the
`Progressing` of an apply that verification did not get to finish."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from shiplane.domain.health import HealthStatus
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.store.matrix import get_matrix
from tests.unit.engine.promotions.conftest import ALICE, World

DEPLOYMENT = ObjRef("apps/v1", "Deployment", "ns-dev", "web")


class LiveCluster:
    """Answers the live health of the objects asked about, in scripted turns."""

    def __init__(self, *answers: tuple[HealthStatus, str]) -> None:
        self.answers = list(answers)
        self.asked: list[list[ObjRef]] = []

    async def __call__(self, handle: Any, refs: Sequence[ObjRef]) -> tuple[HealthStatus, str]:
        self.asked.append(list(refs))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def cell(w: World) -> tuple[str | None, str | None]:
    (c,) = w.read(lambda s: get_matrix(s, apps=["web"], environments=["dev"]))
    return c.health, c.health_reason


def test_an_abort_while_verifying_records_the_live_health(
    make_world: Callable[..., World],
) -> None:
    w = make_world({"dev": {}})
    w.verifier.script = ["running"]
    p = w.write(lambda s: create_promotion(w.rt, s, w.release("1.0").id, "dev", actor=ALICE))
    assert w.reconcile(p.id).state == "Verifying"
    w.write(
        lambda s: (
            deploys.save_inventory(s, "dev", "web", [DEPLOYMENT.to_json()], git_commit=None),
            deploys.update_deployment(
                s, environment="dev", app="web", health="Progressing", health_reason="applied"
            ),
        )
    )
    # The rollout the abort did not stop finishes after one more look.
    live = LiveCluster(
        (HealthStatus.PROGRESSING, "1 of 2 updated"), (HealthStatus.HEALTHY, "RolloutComplete")
    )
    w.rt.live_health = live
    woken: list[bool] = []

    async def abort() -> None:
        aborted = await requests.abort_and_reassess(
            w.rt, p.id, actor=ALICE, reason="stop", then=lambda: woken.append(True)
        )
        assert aborted.state == "Aborted" and woken == [True]
        w.clock.advance(timedelta(seconds=5))  # the second look is due at once
        await asyncio.gather(*w.rt.background)

    asyncio.run(abort())
    assert live.asked == [[DEPLOYMENT], [DEPLOYMENT]]
    assert cell(w) == ("Healthy", f"after the aborted promotion {p.id}: RolloutComplete")


def test_an_abort_before_deploying_leaves_health_alone(make_world: Callable[..., World]) -> None:
    w = make_world({"dev": {"approvals": {"required": 1, "users": ["bob"]}}})
    p = w.write(lambda s: create_promotion(w.rt, s, w.release("1.0").id, "dev", actor=ALICE))
    assert w.reconcile(p.id).state == "Waiting"
    live = LiveCluster((HealthStatus.DEGRADED, "never asked"))
    w.rt.live_health = live

    async def abort() -> None:
        await requests.abort_and_reassess(w.rt, p.id, actor=ALICE, reason="no")
        assert not w.rt.background

    asyncio.run(abort())
    assert live.asked == []


def test_a_deploy_that_fails_after_its_commit_records_the_live_health(
    make_world: Callable[..., World],
) -> None:
    from shiplane.engine.deploy import DeployError, DeployOutcome
    from shiplane.engine.promotions.loop import reconcile

    w = make_world({"dev": {}})  # no automatic rollback: nothing else will verify the apps
    w.write(
        lambda s: deploys.save_inventory(s, "dev", "web", [DEPLOYMENT.to_json()], git_commit=None)
    )
    pushed = DeployOutcome("grp", "dev", "deploy", None, git_commit="c" * 40)
    w.deployer.failures = [DeployError("prune", "refused: too many deletions", pushed)]
    live = LiveCluster((HealthStatus.DEGRADED, "ProgressDeadlineExceeded"))
    w.rt.live_health = live
    p = w.write(lambda s: create_promotion(w.rt, s, w.release("1.0").id, "dev", actor=ALICE))

    async def run() -> None:
        await reconcile(w.rt, p.id)
        await asyncio.gather(*w.rt.background)

    asyncio.run(run())
    assert w.get(p.id).state == "Failed"
    assert cell(w) == ("Degraded", f"after the failed promotion {p.id}: ProgressDeadlineExceeded")
