"""Gate `upstream`: the release must be verified upstream before it moves on.

`after: [qa]` or `after: {all: [qa, perf]}` needs every listed environment, `after:
{any: [prod-eu, prod-us]}` at least one. An environment counts once the release is
verified there for every app this promotion deploys: a release train was tested as a
whole, so half of it verified somewhere is not enough. The rule itself is
`shiplane.domain.upstream`, shared with the auto-promoter; this gate words it.
"""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.config.models import AfterSpec, ProjectConfig
from shiplane.domain.upstream import unverified_apps, upstream_status
from shiplane.gates.context import GateContext
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome

__all__ = ["UPSTREAM", "UpstreamGate", "unverified_apps"]


def _join(names: Sequence[str], word: str = "and") -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


class UpstreamGate(Gate[AfterSpec]):
    """The release must be verified in all (or any) upstream environments."""

    name = "upstream"
    schema = AfterSpec

    def configure(self, project: ProjectConfig, environment: str) -> AfterSpec | None:
        after = project.environments[environment].after
        return after if after.environments else None

    def evaluate(self, ctx: GateContext, config: AfterSpec) -> GateResult:
        apps = ctx.promotion.apps
        status = upstream_status(config.mode, config.environments, apps, ctx.upstream_verified)
        inputs: dict[str, object] = {
            "mode": config.mode,
            "environments": list(config.environments),
            "apps": list(apps),
            "verified": {
                env: {app: ctx.upstream_verified.get(env, {}).get(app) for app in apps}
                for env in config.environments
            },
        }
        if not config.environments:
            return GateResult(self.name, Outcome.PASS, "no upstream environments", inputs)
        if status.satisfied:
            return GateResult(self.name, Outcome.PASS, f"verified in {_join(status.done)}", inputs)

        pending = [
            f"{env} ({', '.join(left)})" if len(left) < len(apps) else env
            for env, left in status.missing.items()
        ]
        if config.mode == "any":
            reason = f"not yet verified in any of {_join(pending, 'or')}"
            hint = "it continues once one of them verifies the release"
        else:
            reason = f"not yet verified in {_join(pending)}"
            hint = "it continues once all of them verify the release"
        inputs["missing"] = {env: list(left) for env, left in status.missing.items()}
        return GateResult(self.name, Outcome.WAIT, reason, inputs, unblock_hint=hint)


UPSTREAM = register(UpstreamGate())
