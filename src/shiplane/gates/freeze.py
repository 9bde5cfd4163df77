"""Gate `freeze`: "stop the line" for an environment or the whole project.

A freeze blocks every promotion into the environment until someone lifts it; the gate
waits (the promotion continues by itself after `unfreeze`). Rollbacks pass when the
environment's `freeze.allowRollback` is true (the default), because a freeze during an
incident must not stop the way back.
"""

from __future__ import annotations

from shiplane.config.models import FreezePolicy, ProjectConfig
from shiplane.gates.context import GateContext
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome


class FreezeGate(Gate[FreezePolicy]):
    """No promotion while the environment or the project is frozen."""

    name = "freeze"
    schema = FreezePolicy
    checks_rollbacks = True

    def configure(self, project: ProjectConfig, environment: str) -> FreezePolicy:
        return project.environments[environment].freeze  # every environment can be frozen

    def evaluate(self, ctx: GateContext, config: FreezePolicy) -> GateResult:
        env = ctx.environment.name
        freezes = [f for f in ctx.freezes if f.applies_to(env)]
        inputs = {
            "allow_rollback": config.allow_rollback,
            "kind": ctx.promotion.kind,
            "freezes": [
                {"scope": f.scope, "environment": f.environment, "reason": f.reason,
                 "set_by": f.set_by, "set_at": f.set_at}
                for f in freezes
            ],
        }  # fmt: skip
        if not freezes:
            return GateResult(self.name, Outcome.PASS, f"{env} is not frozen", inputs)
        described = "; ".join(
            f"frozen by {f.set_by}: {f.reason}"
            + (" (whole project)" if f.scope == "project" else "")
            for f in freezes
        )
        if ctx.promotion.kind == "rollback" and config.allow_rollback:
            return GateResult(
                self.name, Outcome.PASS, f"{described}; rollbacks are allowed", inputs
            )
        lift = [
            "the project freeze is lifted" if f.scope == "project" else f"`shiplane unfreeze {env}`"
            for f in freezes
        ]
        return GateResult(
            self.name,
            Outcome.WAIT,
            described,
            inputs,
            unblock_hint=f"it continues by itself after {' and '.join(dict.fromkeys(lift))}",
        )


FREEZE = register(FreezeGate())
