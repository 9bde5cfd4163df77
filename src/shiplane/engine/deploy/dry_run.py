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
from shiplane.engine.deploy.known_applied import sent_digest
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.text import problems_text
from shiplane.kube.apply_rest import forbidden_of
from shiplane.kube.apply_results import blocking
from shiplane.kube.ownership import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import resource_version_of

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
                return await dry_run_plan(
                    run.handle, run.environment, plan, in_effect=in_effect(run, plan)
                )

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
            if (denied := forbidden_of(exc)) is not None:
                raise denied from None  # a permission error, not a crash
            if exc.status.code != 404:
                raise
            meta = ObjectMeta(
                name=namespace,
                labels={MANAGED_BY_LABEL: MANAGED_BY_VALUE, ENVIRONMENT_LABEL: environment},
            )
            try:
                await handle.client.create(Namespace(metadata=meta))
            except ApiError as again:
                if (denied := forbidden_of(again)) is not None:
                    raise denied from None
                if again.status.code != 409:
                    raise
        self._namespaces_seen.setdefault(handle.name, set()).add(namespace)


def in_effect(run: DeployRun, plan: AppPlan) -> dict[ObjRef, dict[str, Any]]:
    """The plan's objects that are in effect exactly as rendered (known_applied.py),
    with their live copies: they need no dry-run. None when an object is rendered
    twice (the dry-run of the whole batch must say so)."""
    known, live = run.known, run.live_objects
    if known is None or live is None:
        return {}
    cluster = run.handle.name
    found: dict[ObjRef, dict[str, Any]] = {}
    refs: set[ObjRef] = set()
    for obj in plan.objects:
        ref = ObjRef.of(obj)
        if ref in refs:
            return {}
        refs.add(ref)
        copy = live(cluster, ref)
        if copy is not None and known.in_effect(
            cluster, ref, sent_digest(obj, run.environment, plan.app), copy
        ):
            found[ref] = copy
    return found


async def dry_run_plan(
    handle: ClusterHandle,
    environment: str,
    plan: AppPlan,
    *,
    in_effect: dict[ObjRef, dict[str, Any]] | None = None,
) -> str | None:
    """Dry-run one app's objects, as apply will send them; what blocks it (None: the
    cluster accepts them all). Remembers the live resourceVersions and the answers, for
    apply. Objects `in_effect` (with their live copies) are not sent: their live copy is
    the answer."""
    skipped = in_effect or {}
    versions: dict[ObjRef, str | None] = {r: resource_version_of(o) for r, o in skipped.items()}
    predicted: dict[ObjRef, dict[str, Any]] = dict(skipped)
    sent = [o for o in plan.objects if ObjRef.of(o) not in skipped] if skipped else plan.objects
    problems = (
        blocking(
            await handle.applier.dry_run(
                sent,
                immutable_policy=plan.config.immutable_field_policy,
                live_versions=versions,
                owner=(environment, plan.app),
                predicted=predicted,
            )
        )
        if sent
        else []
    )
    plan.live_versions, plan.predicted = versions, predicted
    plan.in_effect = frozenset(skipped)
    return problems_text(problems) if problems else None
