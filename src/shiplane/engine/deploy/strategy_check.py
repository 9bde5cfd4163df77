"""Step `strategy` (deploys of a progressive strategy only): before the commit, ask the
strategy whether each app's rendered objects fit it (a canary needs a Deployment; Gateway
API mode an HTTPRoute). A refusal stops the deploy before anything reaches git.

The check is the promotion's (engine/promotions/strategy.py): it keeps what it learns
(the new Deployment specs a canary runs), so the same render serves both."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shiplane.domain.errors import InvalidError
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport

Inspect = Callable[[str, Sequence[Mapping[str, Any]]], str | None]
"""(app, its rendered objects) -> a note for the run, or InvalidError to refuse."""


class StrategyCheckStep:
    name = "strategy"
    recorded = True

    def __init__(self, inspect: Inspect) -> None:
        self.inspect = inspect

    async def run(self, run: DeployRun) -> StepReport:
        errors: dict[str, str] = {}
        notes: dict[str, str] = {}
        for plan in run.plans:
            try:
                notes[plan.app] = self.inspect(plan.app, plan.objects) or ""
            except InvalidError as exc:
                errors[plan.app] = str(exc)
        if errors:
            raise StepFailed(errors)
        return StepReport(detail=notes)
