"""Gate `condition`: CEL expressions over the release decide whether it may go here.

Each condition (top-level `conditions:` in shiplane.yaml, limited to some environments
or applying to all) may have `eligible` (the release may go only while it is true) and
`reject` (the release is turned away when it is true). Reject wins. An expression is
evaluated once per app of the promotion with these variables:

- `release`: {id, alias, labels, artifacts (app -> reference), creator}
- `app`: {name, artifact}
- `environment`: {name, labels}

`eligible` false waits, because what it reads may still change (a label added to the
release, the config edited); `reject` true ends the promotion. An expression that does
not compile or fails while evaluating (a missing label, a type mismatch) rejects the
promotion with the located error: a broken policy must not let releases through.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shiplane.config.models import ConditionConfig, ProjectConfig
from shiplane.domain.expressions import ExpressionError, evaluate_bool
from shiplane.gates.context import GateContext
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome


class ConditionGateConfig(BaseModel):
    """The conditions that apply to one environment, by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conditions: dict[str, ConditionConfig] = Field(default_factory=dict)


def condition_variables(ctx: GateContext, app: str) -> dict[str, Any]:
    release = ctx.release
    return {
        "release": {
            "id": release.id,
            "alias": release.alias or "",
            "labels": dict(release.labels),
            "artifacts": dict(release.artifacts),
            "charts": dict(release.charts),
            "commits": dict(release.commits),
            "creator": release.creator,
        },
        "app": {"name": app, "artifact": release.artifacts.get(app, "")},
        "environment": {"name": ctx.environment.name, "labels": dict(ctx.environment.labels)},
    }


class ConditionGate(Gate[ConditionGateConfig]):
    """CEL `eligible` / `reject` expressions over release, app and environment."""

    name = "condition"
    schema = ConditionGateConfig

    def configure(self, project: ProjectConfig, environment: str) -> ConditionGateConfig | None:
        applicable = {
            name: c
            for name, c in project.conditions.items()
            if not c.environments or environment in c.environments
        }
        return ConditionGateConfig(conditions=applicable) if applicable else None

    def evaluate(self, ctx: GateContext, config: ConditionGateConfig) -> GateResult:
        env = ctx.environment.name
        rejects: list[str] = []
        errors: list[str] = []
        ineligible: list[str] = []
        checked: list[dict[str, Any]] = []
        for name, condition in sorted(config.conditions.items()):
            if condition.environments and env not in condition.environments:
                continue
            for app in ctx.promotion.apps:
                variables = condition_variables(ctx, app)
                for field, text in (("reject", condition.reject), ("eligible", condition.eligible)):
                    if text is None:
                        continue
                    record: dict[str, Any] = {"condition": name, "app": app, field: text}
                    checked.append(record)
                    try:
                        value = evaluate_bool(text, variables)
                    except ExpressionError as exc:
                        record["error"] = str(exc)
                        errors.append(f"condition {name} ({field}, app {app}): {exc}")
                        continue
                    record["result"] = value
                    if field == "reject" and value:
                        rejects.append(f"condition {name} rejects app {app}: `{text}` is true")
                    elif field == "eligible" and not value:
                        ineligible.append(
                            f"condition {name}: app {app} is not eligible, `{text}` is false"
                        )
        inputs = {
            "release": condition_variables(ctx, ctx.promotion.apps[0])["release"],
            "environment": {"name": env, "labels": dict(ctx.environment.labels)},
            "checked": checked,
        }
        if rejects or errors:
            hint = (
                "fix the expression under `conditions` in shiplane.yaml"
                if errors
                else "promote a release the condition does not reject"
            )
            return GateResult(
                self.name, Outcome.REJECT, "; ".join(rejects + errors), inputs, unblock_hint=hint
            )
        if ineligible:
            return GateResult(
                self.name,
                Outcome.WAIT,
                "; ".join(ineligible),
                inputs,
                unblock_hint=(
                    "it continues once the expression holds (for example after a label is "
                    "added to the release), or change the condition"
                ),
            )
        names = ", ".join(sorted(config.conditions))
        return GateResult(self.name, Outcome.PASS, f"conditions hold: {names}", inputs)


CONDITION = register(ConditionGate())
