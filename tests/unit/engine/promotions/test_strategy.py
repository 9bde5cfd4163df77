"""The engine's seam for progressive strategies, with a scripted strategy in place of
the canary (no cluster): commit first, persisted rounds, resume, complete, abort; and
`rolling` deploys exactly as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import generate_latest
from pydantic import BaseModel

from shiplane.config.models import CanaryConfig
from shiplane.domain.registry import Registration
from shiplane.engine.deploy import DeployOutcome
from shiplane.engine.metrics import EngineMetrics
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.create import create_promotion
from shiplane.strategies import (
    STRATEGIES,
    FinishedStep,
    StrategyContext,
    StrategyRequestError,
    StrategyRound,
)
from tests.unit.engine.promotions.conftest import ALICE, FakeDeployer, World

CANARY = {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}


@dataclass
class ScriptedStrategy:
    """Answers each `advance` with the next scripted outcome; records every call."""

    script: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    progressive = True

    def start(
        self, config: BaseModel, app: str, objects: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        self.calls.append(f"start {app} {len(objects)}")
        return {"rounds": 0}

    async def advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        state = {**state, "rounds": state["rounds"] + 1}
        outcome = self.script.pop(0) if self.script else "done"
        self.calls.append(f"advance {state['rounds']} {outcome}")
        if outcome == "paused" and state.get("resumed"):
            outcome = "done"
        if outcome == "paused":
            return StrategyRound("running", "paused until resumed", state, weight=50)
        if outcome == "failed":
            step = FinishedStep("canary step 3/3: analysis error-rate", "failed", "too many")
            return StrategyRound("failed", "check error-rate failed", state, steps=[step])
        step = FinishedStep("canary step 1/2: setWeight 50", "succeeded", "1 beside 1")
        return StrategyRound("done", "all steps passed", state, steps=[step])

    async def complete(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        self.calls.append("complete")
        return StrategyRound("done", "canary removed", state)

    async def abort(self, ctx: StrategyContext, state: dict[str, Any]) -> str:
        self.calls.append("abort")
        return "removed web-canary"

    def summary(self, config: BaseModel, state: Mapping[str, Any]) -> str:
        return f"canary after {state.get('rounds', 0)} rounds"

    def resume(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        if state.get("resumed"):
            raise StrategyRequestError("the canary is not paused")
        return {**state, "resumed": True}

    def skip(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        return state


@dataclass
class StrategyDeployer(FakeDeployer):
    """The fake deployer, also taking the strategy path's arguments."""

    async def deploy(  # type: ignore[override]  # the strategy path's keywords too
        self, release: Any, environment: str, **kwargs: Any
    ) -> DeployOutcome:
        to_cluster = kwargs.pop("to_cluster", None)
        inspect = kwargs.pop("inspect", None)
        if inspect is not None:
            for app in kwargs.get("apps") or release.apps:
                inspect(app, [DEPLOYMENT])
        outcome = await super().deploy(release, environment, **kwargs)
        self.calls[-1]["to_cluster"] = to_cluster
        self.calls[-1]["inspect"] = inspect is not None
        return outcome


class Handle:
    client: Any = None


class Clusters:
    def for_environment(self, environment: str) -> Handle:
        return Handle()

    async def close(self) -> None:
        return None


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedStrategy]:
    strategy = ScriptedStrategy()
    entries = dict(STRATEGIES._entries)
    entries["canary"] = Registration("canary", strategy, CanaryConfig, "scripted")
    monkeypatch.setattr(STRATEGIES, "_entries", entries)
    yield strategy


def canary_world(make_world: Callable[..., World], **dev: Any) -> World:
    world = make_world({"dev": {"strategy": CANARY, **dev}})
    world.rt.deployer = world.deployer = StrategyDeployer(world.rt.db)
    world.rt.clusters = Clusters()
    return world


def metrics(world: World) -> str:
    return generate_latest(EngineMetrics(world.rt.db).registry).decode()


def promote(world: World, version: str = "1.0") -> str:
    release = world.release(version)
    record = world.write(lambda s: create_promotion(world.rt, s, release.id, "dev", actor=ALICE))
    return record.id


def test_a_canary_commits_first_waits_in_its_steps_and_syncs_after_the_last(
    make_world: Callable[..., World], scripted: ScriptedStrategy
):
    world = canary_world(make_world)
    told: list[str] = []
    world.rt.notify = lambda _s, event, _record: told.append(event)
    scripted.script = ["paused"]
    pid = promote(world)
    paused = world.reconcile(pid)
    assert told == []  # no step ended yet
    assert paused.state == "Deploying" and "paused until resumed" in paused.reason
    # Committed without touching the cluster, the objects checked before the commit.
    assert [(c["to_cluster"], c["inspect"]) for c in world.deployer.calls] == [(False, True)]
    strategy = paused.data["strategy"]
    assert strategy["phase"] == "steps" and strategy["apps"]["web"]["kind"] == "canary"
    assert strategy["apps"]["web"]["state"] == {"rounds": 1}  # saved after the round
    assert strategy["summary"] == "canary after 1 rounds"
    gauge = 'shiplane_strategy_weight_percent{app="web",environment="dev",strategy="canary"}'
    assert f"{gauge} 50.0" in metrics(world)
    # Waiting for a person: looked at again only after a while, or when woken.
    assert paused.next_check_at is not None and paused.next_check_at > world.clock.now()

    world.write(lambda s: requests.resume(world.rt, s, pid, actor=ALICE))
    with pytest.raises(Exception, match="not paused"):
        world.write(lambda s: requests.resume(world.rt, s, pid, actor=ALICE))
    done = world.reconcile(pid)
    assert done.state == "Succeeded", done.reason
    assert told == ["promotion.strategy_step", "promotion.succeeded"]
    # The second deploy finds the commit and syncs; the strategy then removes its objects.
    assert [(c["to_cluster"], c["inspect"]) for c in world.deployer.calls] == [
        (False, True),
        (True, False),
    ]
    assert scripted.calls == ["start web 1", "advance 1 paused", "advance 2 done", "complete"]
    names = [s.name for s in world.steps(pid)]
    assert "strategy" in names and "strategy resume" in names
    assert "canary step 1/2: setWeight 50" in names and "strategy web completed" in names
    assert names.index("strategy web completed") < names.index("-> Verifying")
    assert "promotion.resume" in world.actions()
    assert "shiplane_strategy_weight_percent{" not in metrics(world)  # only while it moves


def test_a_failed_step_aborts_the_strategy_and_fails_the_promotion(
    make_world: Callable[..., World], scripted: ScriptedStrategy
):
    world = canary_world(make_world)
    scripted.script = ["failed"]
    pid = promote(world)
    failed = world.reconcile(pid)
    assert failed.state == "Failed"
    assert "check error-rate failed" in failed.reason and "removed web-canary" in failed.reason
    assert scripted.calls[-1] == "abort"
    assert failed.data["strategy"]["phase"] == "aborted"
    assert len(world.deployer.calls) == 1  # never synced: the stable version is untouched
    outcomes = {s.name: s.outcome for s in world.steps(pid)}
    assert outcomes["canary step 3/3: analysis error-rate"] == "failed"


def test_an_abort_request_removes_what_the_strategy_added(
    make_world: Callable[..., World], scripted: ScriptedStrategy
):
    world = canary_world(make_world)
    scripted.script = ["paused"]
    pid = promote(world)
    world.reconcile(pid)
    aborted = asyncio.run(requests.abort_and_reassess(world.rt, pid, actor=ALICE, reason="no"))
    assert aborted.state == "Aborted"
    assert scripted.calls[-1] == "abort"
    assert world.get(pid).data["strategy"]["phase"] == "aborted"
    assert "strategy aborted" in [s.name for s in world.steps(pid)]


def test_requests_are_refused_without_a_strategy_taking_steps(
    make_world: Callable[..., World], scripted: ScriptedStrategy
):
    world = make_world({"dev": {}})
    pid = promote(world)
    with pytest.raises(Exception, match="not taking a strategy's steps"):
        world.write(lambda s: requests.skip_step(world.rt, s, pid, actor=ALICE))


def test_rolling_deploys_exactly_as_before(make_world: Callable[..., World]):
    world = make_world({"dev": {}})
    pid = promote(world)
    assert world.reconcile(pid).state == "Succeeded"
    # One deploy with exactly the arguments a promotion always passed.
    assert world.deployer.calls == [
        {"release": world.get(pid).release_id, "environment": "dev", "kind": "deploy",
         "apps": ["web"]}
    ]  # fmt: skip
    assert "strategy" not in world.get(pid).data


def test_a_rollback_promotion_always_rolls(
    make_world: Callable[..., World], scripted: ScriptedStrategy
):
    world = canary_world(make_world)
    first = world.release("1.0")
    world.write(
        lambda s: create_promotion(world.rt, s, first.id, "dev", actor=ALICE, kind="rollback")
    )
    (rollback,) = world.promotions("dev")
    assert world.reconcile(rollback.id).state == "Succeeded"
    assert scripted.calls == []
