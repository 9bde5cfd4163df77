"""Step `render`: the objects each app's manifests make for the environment.

Before the commit the tree is git's HEAD and the new pins are applied in memory (so an
invalid manifest never reaches git): no renderer reads the pin file (the plain renderer
skips it, kustomize and helm never name it), so HEAD rendered with the pins is exactly
what the commit of those pins renders to, without copying the tree. After the commit
the committed tree is rendered, unless it is that very tree (HEAD plus the pins), in
which case the render is not repeated. When a render yields exactly the objects the
dry-run saw, the dry-run's resourceVersions stay valid and apply skips its GET per
object.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shiplane.config.models import EnvironmentConfig
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.text import describe
from shiplane.gitops.renderers.pipeline import render_app


async def render_plan(
    handle: ClusterHandle, environment: str, env: EnvironmentConfig, plan: AppPlan, tree: Path
) -> list[dict[str, Any]]:
    """The objects `plan`'s app renders to in `tree` (namespace and ownership injected)."""
    if not handle.discovery.cached("v1", "Namespace"):
        await handle.discovery.refresh()  # rendering needs scopes without awaiting
    return await render_app(
        tree,
        app=plan.app,
        environment=environment,
        namespace=env.namespace,
        manifests_path=plan.config.manifests.path,
        renderer=plan.config.manifests.render,
        pin=plan.pin,
        is_namespaced=lambda v, k: (
            None if (info := handle.discovery.cached(v, k)) is None else info.namespaced
        ),
    )


class RenderStep:
    """Render every app of the run from `run.tree` with the plans' pins (`before_commit`:
    HEAD, as the tree will be once the pins are committed)."""

    name = "render"
    recorded = True

    def __init__(self, *, before_commit: bool = False) -> None:
        self.before_commit = before_commit

    async def run(self, run: DeployRun) -> StepReport:
        assert run.tree is not None, "a step before render exports the git tree"
        if self.before_commit or not run.commit_is_validated_tree:
            await self._render_all(run, run.tree)
        # else: the commit holds the very files rendered before it; the objects stand.
        return StepReport(detail={p.app: f"{len(p.objects)} objects" for p in run.plans})

    async def _render_all(self, run: DeployRun, tree: Path) -> None:
        results = await asyncio.gather(
            *(render_plan(run.handle, run.environment, run.env, p, tree) for p in run.plans),
            return_exceptions=True,
        )
        errors: dict[str, str] = {}
        for plan, result in zip(run.plans, results, strict=True):
            if isinstance(result, BaseException):
                errors[plan.app] = describe(result)
                continue
            if result != plan.objects:
                plan.live_versions = plan.predicted = None  # the dry-run saw other objects
            plan.objects = result
        if errors:
            raise StepFailed(errors)
