"""Step `render`: the objects each app's manifests make for the environment.

Before the commit the tree is git's HEAD with the new pins written into a private copy
(so an invalid manifest never reaches git); after it, the committed tree, unless that is
the very tree rendered before (the render is then not repeated). When a render yields
exactly the objects the dry-run saw, the dry-run's resourceVersions stay valid and apply
skips its GET per object.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from shiplane.config.models import EnvironmentConfig
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.text import describe
from shiplane.gitops.pins import dump_pin, pin_path
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
    """Render every app of the run from `run.tree` (with `with_pins`: from a copy of it
    with the plans' pins written, as the tree will be after the commit)."""

    name = "render"
    recorded = True

    def __init__(self, *, with_pins: bool = False) -> None:
        self.with_pins = with_pins

    async def run(self, run: DeployRun) -> StepReport:
        assert run.tree is not None, "a step before render exports the git tree"
        if self.with_pins:
            with tempfile.TemporaryDirectory(prefix="shiplane-preview-") as tmp:
                tree = Path(tmp) / "tree"
                shutil.copytree(run.tree, tree, symlinks=True)
                for plan in run.plans:
                    if plan.pin is not None:
                        target = tree / pin_path(run.environment, plan.app)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(dump_pin(plan.pin))
                await self._render_all(run, tree)
        elif not run.commit_is_validated_tree:
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
