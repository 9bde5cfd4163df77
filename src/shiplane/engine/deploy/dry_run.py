"""Step `dry-run`: the cluster validates every object (server-side apply, dryRun=All)
before anything is pushed or applied; any rejection stops the run. The apps of a run
(a release train, or every app of a sync) are dry-run concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.text import problems_text
from shiplane.kube.apply_results import blocking
from shiplane.kube.ownership import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from shiplane.kube.refs import ObjRef

# Apps dry-run at the same time (each sends up to Applier.concurrency requests at once).
CONCURRENT_APPS = 8


class DryRunStep:
    name = "dry-run"
    recorded = True

    def __init__(self) -> None:
        # Namespaces known to exist, per cluster: checked once per process.
        self._namespaces_seen: dict[str, set[str]] = {}

    async def run(self, run: DeployRun) -> StepReport:
        await self._ensure_namespace(run.handle, run.environment, run.env.namespace)
        # Apps concurrently, as apply does within a dependency level (a dry-run changes
        # nothing, so order does not matter); bounded, since each app's dry-run already
        # sends up to the applier's concurrency of requests at once.
        bound = asyncio.Semaphore(CONCURRENT_APPS)

        async def one(plan: AppPlan) -> str | None:
            async with bound:
                return await dry_run_plan(run.handle, run.environment, plan)

        results = await asyncio.gather(*(one(p) for p in run.plans), return_exceptions=True)
        errors: dict[str, str] = {}
        for plan, result in zip(run.plans, results, strict=True):
            if isinstance(result, BaseException):
                raise result  # not a rejection: the cluster or a bug (recorded as internal)
            if result:
                errors[plan.app] = result
        if errors:
            raise StepFailed(errors)
        return StepReport()

    async def _ensure_namespace(
        self, handle: ClusterHandle, environment: str, namespace: str
    ) -> None:
        """The environment's namespace is part of the environment, not of an app: create
        it when missing (labelled as Shiplane's), never prune it with an app."""
        if namespace in self._namespaces_seen.get(handle.name, set()):
            return
        try:
            await handle.client.get(Namespace, namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            meta = ObjectMeta(
                name=namespace,
                labels={MANAGED_BY_LABEL: MANAGED_BY_VALUE, ENVIRONMENT_LABEL: environment},
            )
            try:
                await handle.client.create(Namespace(metadata=meta))
            except ApiError as again:
                if again.status.code != 409:
                    raise
        self._namespaces_seen.setdefault(handle.name, set()).add(namespace)


async def dry_run_plan(handle: ClusterHandle, environment: str, plan: AppPlan) -> str | None:
    """Dry-run one app's objects, as apply will send them; what blocks it (None: the
    cluster accepts them all). Remembers the live resourceVersions and the answers, for
    apply."""
    versions: dict[ObjRef, str | None] = {}
    predicted: dict[ObjRef, dict[str, Any]] = {}
    problems = blocking(
        await handle.applier.dry_run(
            plan.objects,
            immutable_policy=plan.config.immutable_field_policy,
            live_versions=versions,
            owner=(environment, plan.app),
            predicted=predicted,
        )
    )
    plan.live_versions, plan.predicted = versions, predicted
    return problems_text(problems) if problems else None
