"""Gate `hold`: auto-promotion never touches a held (environment, app).

A hold is set by a manual promotion of an older release or by a rollback, so that the
next release verified upstream does not silently undo what a person chose. Manual
promotions pass (a person may always promote); auto-promotions are rejected, since the
auto-promoter creates a fresh one for the next release once the hold is lifted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion_queue import held_slots
from shiplane.gates.context import GateContext
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome


class HoldGateConfig(BaseModel):
    """No settings: holds are set and lifted at run time."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class HoldGate(Gate[HoldGateConfig]):
    """Auto-promotions stop at a held (environment, app)."""

    name = "hold"
    schema = HoldGateConfig

    def configure(self, project: ProjectConfig, environment: str) -> HoldGateConfig:
        return HoldGateConfig()

    def evaluate(self, ctx: GateContext, config: HoldGateConfig) -> GateResult:
        promotion = ctx.promotion
        held = held_slots(promotion, ctx.holds)
        holds = [h for h in ctx.holds if (h.environment, h.app) in set(held)]
        inputs = {
            "trigger": promotion.trigger,
            "holds": [
                {"environment": h.environment, "app": h.app, "set_by": h.set_by,
                 "set_at": h.set_at, "reason": h.reason}
                for h in holds
            ],
        }  # fmt: skip
        if not holds:
            return GateResult(self.name, Outcome.PASS, "no hold", inputs)
        described = "; ".join(
            f"{h.environment}/{h.app} is held by {h.set_by}" + (f": {h.reason}" if h.reason else "")
            for h in holds
        )
        if promotion.trigger == "manual":
            return GateResult(
                self.name, Outcome.PASS, f"{described} (a manual promotion may proceed)", inputs
            )
        apps = " ".join(sorted({h.app for h in holds}))
        return GateResult(
            self.name,
            Outcome.REJECT,
            f"auto-promotion stopped: {described}",
            inputs,
            unblock_hint=(
                f"lift the hold with `shiplane unhold {ctx.environment.name} {apps}`, "
                "or promote this release by hand"
            ),
        )


HOLD = register(HoldGate())
