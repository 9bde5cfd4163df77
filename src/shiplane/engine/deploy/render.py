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
from shiplane.gitops.renderers.context import PinnedContents
from shiplane.gitops.renderers.pipeline import render_app


async def render_plan(
    handle: ClusterHandle,
    environment: str,
    env: EnvironmentConfig,
    plan: AppPlan,
    tree: Path,
    contents: PinnedContents | None = None,
) -> list[dict[str, Any]]:
    """The objects `plan`'s app renders to in `tree` (namespace and ownership injected);
    `contents` fetches what the pin names beyond images (a chart version, a config
    commit). Every render (deploy, sync, drift, diffs) goes through here."""
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
        contents=contents,
        is_namespaced=lambda v, k: (
            None if (info := handle.discovery.cached(v, k)) is None else info.namespaced
        ),
    )


class RenderStep:
    """Render every app of the run from `run.tree` with the plans' pins (in a deploy,
    before the commit: HEAD, as the tree will be once the pins are committed)."""

    name = "render"
    recorded = True

    async def run(self, run: DeployRun) -> StepReport:
        assert run.tree is not None, "a step before render exports the git tree"
        await render_all(run, run.tree)
        return StepReport(detail=_counts(run))


class RenderCommitStep:
    """After the commit: render the committed tree, unless it is the very tree rendered
    before the commit (HEAD plus these pins; see commit.py), whose objects stand. Only a
    render that happens is a row of the run."""

    name = "render"
    recorded = False  # records itself, when it renders

    async def run(self, run: DeployRun) -> StepReport:
        assert run.tree is not None, "the commit step leaves the committed tree"
        if run.commit_is_validated_tree:
            return StepReport()
        await run.rec.step(self.name, "running", apps=run.stepped_apps)
        await render_all(run, run.tree)
        await run.rec.step(self.name, "ok", apps=run.stepped_apps, detail=_counts(run), defer=True)
        return StepReport()


def _counts(run: DeployRun) -> dict[str, str]:
    return {p.app: f"{len(p.objects)} objects" for p in run.plans}


async def render_all(run: DeployRun, tree: Path) -> None:
    """Render every plan of `run` from `tree`; StepFailed names the apps that failed."""
    results = await asyncio.gather(
        *(
            render_plan(run.handle, run.environment, run.env, p, tree, run.contents)
            for p in run.plans
        ),
        return_exceptions=True,
    )
    errors: dict[str, str] = {}
    for plan, result in zip(run.plans, results, strict=True):
        if isinstance(result, BaseException):
            errors[plan.app] = describe(result)
            continue
        if result != plan.objects:
            plan.live_versions = plan.predicted = None  # the dry-run saw other objects
            plan.in_effect = frozenset()
        plan.objects = result
    if errors:
        raise StepFailed(errors)
