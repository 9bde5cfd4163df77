"""wait_ready: ask once, look until ready / failed / the deadline, in the agent's words.
A scripted target stands in for an agent (the rule under test is the waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel

from shiplane.config.models import ShiplaneTargetConfig
from shiplane.domain.clock import SystemClock
from shiplane.targets.base import Hydration, TargetContext, TargetObject, TargetStatus
from shiplane.targets.waiting import failure_text, wait_ready

OWNER = TargetObject("Kustomization", "flux-system", "shop")


class Scripted:
    own_sync = False
    strategies = frozenset({"rolling"})

    def __init__(self, statuses: Sequence[TargetStatus]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[str, str]] = []
        self.looks = 0

    def owners(self, config: BaseModel, app: str) -> tuple[TargetObject, ...]:
        return (OWNER,)

    def hydration(self, environment: str, app: str) -> Hydration | None:
        return None

    async def check(self, ctx: TargetContext, app: str) -> list[str]:
        return []

    async def request(self, ctx: TargetContext, app: str, commit: str) -> None:
        self.requests.append((app, commit))

    async def observe(self, ctx: TargetContext, app: str, commit: str) -> TargetStatus:
        self.looks += 1
        return self.statuses[min(self.looks, len(self.statuses)) - 1]

    async def source_problem(self, ctx: TargetContext, app: str) -> str | None:
        return "GitOperationFailed: no such branch"


async def _contains(commit: str, later: str) -> bool:
    return commit == later


def ctx(timeout: float = 5.0) -> TargetContext:
    return TargetContext(
        "staging",
        "shop",
        ShiplaneTargetConfig(),
        None,
        SystemClock(),
        _contains,  # type: ignore[arg-type]
        timeout=timeout,
        interval=0.01,
    )


def progressing() -> TargetStatus:
    return TargetStatus("progressing", None, "Progressing", "working", owner=OWNER)


def test_ready_after_some_looks() -> None:
    target = Scripted([progressing(), progressing(), TargetStatus("ready", "c" * 40, owner=OWNER)])
    result = asyncio.run(wait_ready(target, ctx(), "web", "c" * 40))
    assert result.ok and result.status.phase == "ready"
    assert target.requests == [("web", "c" * 40)]
    assert target.looks == 3


def test_a_failure_carries_the_agents_reason_and_message() -> None:
    failed = TargetStatus("failed", None, "BuildFailed", "kustomize build failed: x", owner=OWNER)
    result = asyncio.run(wait_ready(Scripted([progressing(), failed]), ctx(), "web", "c" * 40))
    assert not result.ok and not result.timed_out
    assert result.error == "Kustomization flux-system/shop: BuildFailed: kustomize build failed: x"
    assert failure_text(failed) == result.error


def test_a_timeout_says_the_last_status_and_the_sources_problem() -> None:
    result = asyncio.run(wait_ready(Scripted([progressing()]), ctx(0.1), "web", "c" * 40))
    assert result.timed_out and result.error is not None
    assert result.error.startswith("Kustomization flux-system/shop not Ready at cccccccccccc")
    assert "Progressing (Progressing): working" in result.error
    assert "source: GitOperationFailed: no such branch" in result.error
