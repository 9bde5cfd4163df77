"""Gate `upstream`: the release must be verified upstream before it moves on.

`after: [qa]` or `after: {all: [qa, perf]}` needs every listed environment, `after:
{any: [prod-eu, prod-us]}` at least one. An environment counts once the release is
verified there for every app this promotion deploys: a release train was tested as a
whole, so half of it verified somewhere is not enough.
"""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.config.models import AfterSpec, ProjectConfig
from shiplane.gates.context import GateContext, UpstreamVerified
from shiplane.gates.registry import Gate, register
from shiplane.gates.results import GateResult, Outcome


def unverified_apps(verified: UpstreamVerified, environment: str, apps: Sequence[str]) -> list[str]:
    """Apps of `apps` not (yet) verified in `environment`."""
    per_app = verified.get(environment, {})
    return [app for app in apps if per_app.get(app) is None]


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
        missing = {
            env: unverified_apps(ctx.upstream_verified, env, apps) for env in config.environments
        }
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
        done = [env for env, left in missing.items() if not left]
        if config.mode == "any" and done:
            return GateResult(self.name, Outcome.PASS, f"verified in {_join(done)}", inputs)
        if config.mode == "all" and len(done) == len(config.environments):
            return GateResult(self.name, Outcome.PASS, f"verified in {_join(done)}", inputs)

        pending = [
            f"{env} ({', '.join(left)})" if len(left) < len(apps) else env
            for env, left in missing.items()
            if left
        ]
        if config.mode == "any":
            reason = f"not yet verified in any of {_join(pending, 'or')}"
            hint = "it continues once one of them verifies the release"
        else:
            reason = f"not yet verified in {_join(pending)}"
            hint = "it continues once all of them verify the release"
        inputs["missing"] = {env: left for env, left in missing.items() if left}
        return GateResult(self.name, Outcome.WAIT, reason, inputs, unblock_hint=hint)


UPSTREAM = register(UpstreamGate())
