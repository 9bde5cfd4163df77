"""`blueGreen`: configuration only in this version. Its model is validated with the rest
of shiplane.yaml; a promotion that would run it is refused before anything is committed,
saying so (docs/strategies.md). The plugin is registered so that the name, the schema
and the refusal live where the strategy will run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from shiplane.config.models import BlueGreenConfig
from shiplane.strategies.base import (
    STRATEGIES,
    StrategyConfigError,
    StrategyContext,
    StrategyRequestError,
    StrategyRound,
)

NOT_YET = (
    "strategy blueGreen is not available in this version: use rolling or canary "
    "(docs/strategies.md)"
)


class BlueGreen:
    progressive = True

    def start(
        self, config: BaseModel, app: str, objects: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        raise StrategyConfigError(NOT_YET)

    async def advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        return StrategyRound("failed", NOT_YET, state)

    async def complete(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        return StrategyRound("failed", NOT_YET, state)

    async def abort(self, ctx: StrategyContext, state: dict[str, Any]) -> str:
        return "nothing to remove"

    def summary(self, config: BaseModel, state: Mapping[str, Any]) -> str:
        return "blueGreen"

    def resume(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        raise StrategyRequestError(NOT_YET)

    def skip(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        raise StrategyRequestError(NOT_YET)

    async def leftovers(self, client: Any, namespace: str) -> dict[str, list[str]]:
        return {}

    async def remove(self, client: Any, namespace: str, names: Sequence[str]) -> None:
        return None


STRATEGIES.register(
    "blueGreen", schema=BlueGreenConfig, description="a preview, then a switch (not yet)"
)(BlueGreen())
