"""What a strategy is: a plugin that moves one app of a promotion from the stable
version to the pinned release, in persisted rounds (docs/strategies.md).

The engine calls a strategy between the commit of the pin (git already says "the new
release") and the sync that gives the stable objects the new spec:

    start(config, app, objects)   pure: the app's rendered objects fit the strategy?
                                  (before the commit; raises StrategyConfigError)
    advance(ctx, state)           one bounded round of steps; the state is saved after
                                  each round, so a restart resumes at the same step
    complete(ctx, state)          after the sync: remove what the strategy added
    abort(ctx, state)             remove what the strategy added; the stable objects
                                  were never changed

A strategy works only with the objects it adds (named and labelled as Shiplane's), never
with the stable ones, and knows nothing of promotions: the engine records its rounds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from shiplane.domain.clock import Clock
from shiplane.domain.errors import InvalidError
from shiplane.domain.registry import Registry

if TYPE_CHECKING:
    from lightkube import AsyncClient

    from shiplane.gates.checks import CheckResult

Analyse = Callable[
    [str, str, Mapping[str, Any] | None], Awaitable[tuple["CheckResult", dict[str, Any]]]
]
"""Step the named check once: (check name, run id, its saved state) -> (result, state)."""

RoundOutcome = Literal["running", "done", "failed"]


class StrategyConfigError(InvalidError):
    """The app's manifests do not fit its strategy (no Deployment for a canary, no
    HTTPRoute in gatewayAPI mode), or the strategy cannot run in this version."""


@dataclass(frozen=True)
class StrategyContext:
    """What a round works with: where the app runs, the strategy's config, the clock,
    and the checks (through `analyse`, which the engine builds)."""

    environment: str
    namespace: str
    app: str
    config: BaseModel
    client: AsyncClient
    clock: Clock
    run_id: str
    """The promotion's id: names what a round creates, so a restart finds it."""
    analyse: Analyse


@dataclass(frozen=True)
class FinishedStep:
    """A step that ended in this round, for the promotion's steps."""

    name: str
    outcome: Literal["succeeded", "failed", "skipped"]
    detail: str = ""


@dataclass
class StrategyRound:
    outcome: RoundOutcome
    reason: str
    state: dict[str, Any]
    next_check_at: datetime | None = None
    """When to look again (running); None: when woken (a person resumes)."""
    steps: list[FinishedStep] = field(default_factory=list)
    weight: int | None = None
    """The share of the new version (percent) after the round, for the metrics."""


class Strategy(Protocol):
    progressive: bool
    """False only for `rolling`: the engine then deploys as it always has."""

    def start(
        self, config: BaseModel, app: str, objects: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The initial state, or StrategyConfigError when the objects do not fit."""
        ...

    async def advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound: ...

    async def complete(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound: ...

    async def abort(self, ctx: StrategyContext, state: dict[str, Any]) -> str:
        """Remove what the strategy added; what was done, in words."""
        ...

    def summary(self, config: BaseModel, state: Mapping[str, Any]) -> str:
        """One line for status and explain (`canary 25% (step 2/4: pause 5m)`)."""
        ...

    def resume(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        """The state after a person's resume (StrategyRequestError when not paused)."""
        ...

    def skip(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        """The state after a person skipped the current step."""
        ...

    async def leftovers(self, client: AsyncClient, namespace: str) -> dict[str, list[str]]:
        """The objects this strategy added in `namespace`, by owner (`environment/app`):
        what a process that died in an abort may have left (the engine removes those of
        apps no promotion is moving)."""
        ...

    async def remove(self, client: AsyncClient, namespace: str, names: Sequence[str]) -> None:
        """Remove objects `leftovers` named."""
        ...


class StrategyRequestError(InvalidError):
    """A resume or skip that the strategy's position does not allow."""


STRATEGIES: Registry[Strategy] = Registry("strategy")
"""Every strategy by its name in shiplane.yaml (`rolling`, `canary`, `blueGreen`)."""
