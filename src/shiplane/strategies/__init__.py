"""Strategies: how a cluster moves to the pinned release (docs/strategies.md).

One plugin per strategy in one registry (`STRATEGIES`), each with its config model
from `config` as its schema: `rolling` (today's behaviour), `canary`, `blueGreen`. The
engine runs them (engine/promotions/strategy.py); a new strategy is a new module here.
This package is the way in.
"""

from shiplane.strategies import blue_green, canary, rolling
from shiplane.strategies.base import (
    STRATEGIES,
    Analyse,
    FinishedStep,
    Strategy,
    StrategyConfigError,
    StrategyContext,
    StrategyRequestError,
    StrategyRound,
)

__all__ = [
    "STRATEGIES",
    "Analyse",
    "FinishedStep",
    "Strategy",
    "StrategyConfigError",
    "StrategyContext",
    "StrategyRequestError",
    "StrategyRound",
    "blue_green",
    "canary",
    "rolling",
]
