"""`argocd`: hand the pin commit to the Argo CD that runs for the environment's cluster
(docs/handoff.md).

Argo CD cannot read a pin, so the pin commit also carries the app's rendered objects at
`rendered/<env>/<app>/manifests.yaml` (targets/rendered.py), and the app's Application
(`spec.source.path`) is that directory, or `rendered/<env>` for all apps of the
environment, with `targetRevision` the GitOps branch. After the push the target asks for
a refresh and a sync operation at the commit (a refresh only when the Application syncs
by itself, argocd_status.sync_request), and the engine waits until `status.sync.revision`
is the commit (or a later one of the branch), sync is Synced and health Healthy. A failed
sync fails the promotion with Argo CD's own words (the operation's message, the resources
it could not apply), a Degraded app with its degraded resources' health messages (the
Application's, else a live look at its resources: Argo CD 3 keeps them in its tree).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from pydantic import BaseModel

from shiplane.config.models import ArgoCDTargetConfig, split_object_name
from shiplane.domain.health import HealthStatus
from shiplane.kube.health_wait import check_health
from shiplane.kube.polling import poll
from shiplane.kube.refs import ObjRef
from shiplane.targets import argocd_objects, rendered
from shiplane.targets.argocd_status import (
    application_status,
    degraded_without_details,
    operation_revision,
    operation_running,
    sync_request,
    synced_revision,
)
from shiplane.targets.base import (
    Hydration,
    TargetConfigError,
    TargetContext,
    TargetObject,
    TargetObjectMissingError,
    TargetStatus,
)
from shiplane.targets.registry import TARGETS

KIND = "Application"


def _config(config: BaseModel) -> ArgoCDTargetConfig:
    if not isinstance(config, ArgoCDTargetConfig):
        raise TargetConfigError(f"expected an argocd section, got {type(config).__name__}")
    return config


def owner_name(config: ArgoCDTargetConfig, app: str) -> str | None:
    """`namespace/name` of the Application of `app`: its own, else the environment's."""
    override = config.apps.get(app)
    return override.application if override is not None else config.application


def source_problems(
    application: Mapping[str, Any], obj: TargetObject, environment: str, app: str
) -> list[str]:
    """What keeps the Application from applying what the pin commit writes (pure)."""
    spec = application.get("spec") or {}
    if spec.get("sources"):
        return [f"{obj} has several sources; Shiplane hands off to an Application with one"]
    source = spec.get("source") or {}
    path = rendered.normal_path(str(source.get("path") or ""))
    if path not in rendered.allowed_dirs(environment, app):
        return [
            f"{obj} applies path {source.get('path')!r}; Shiplane writes app {app!r} to "
            f"./{rendered.rendered_dir(environment, app)} (or name "
            f"./{rendered.RENDERED_ROOT}/{environment} for every app)"
        ]
    recurse = (source.get("directory") or {}).get("recurse") is True
    if path != rendered.rendered_dir(environment, app) and not recurse:
        # A directory source reads only the files directly in its path; every app's
        # objects are one folder down.
        return [
            f"{obj} applies ./{path} without spec.source.directory.recurse: true, so it "
            f"never reads ./{rendered.manifests_path(environment, app)}"
        ]
    return []


class ArgoCDTarget:
    own_sync = False
    # Argo CD syncs the whole commit at once: no weights, previews or pauses between.
    strategies = frozenset({"rolling"})

    def owners(self, config: BaseModel, app: str) -> tuple[TargetObject, ...]:
        name = owner_name(_config(config), app)
        return () if name is None else (TargetObject(KIND, *split_object_name(name)),)

    def hydration(self, environment: str, app: str) -> Hydration | None:
        return Hydration(rendered.manifests_path(environment, app))

    def _owner(self, ctx: TargetContext, app: str) -> TargetObject:
        owners = self.owners(ctx.config, app)
        if not owners:
            raise TargetConfigError(
                f"no Application owns app {app!r} in environment {ctx.environment!r} "
                "(name one in deploy.argocd)"
            )
        return owners[0]

    async def check(self, ctx: TargetContext, app: str) -> list[str]:
        owners = self.owners(ctx.config, app)
        if not owners:
            return [f"no Application owns app {app!r} (name one in deploy.argocd)"]
        obj = owners[0]
        found = await argocd_objects.read(ctx.client, obj)
        if found is None:
            return [f"{obj} does not exist in the cluster of environment {ctx.environment!r}"]
        return source_problems(found, obj, ctx.environment, app)

    async def request(self, ctx: TargetContext, app: str, commit: str) -> None:
        obj = self._owner(ctx, app)
        found = await self._settled(ctx, obj)
        await argocd_objects.patch(ctx.client, obj, sync_request(found, commit))

    async def _settled(self, ctx: TargetContext, obj: TargetObject) -> Mapping[str, Any]:
        """The Application once no sync operation is under way: one operation at a time,
        and a sync asked now would replace the running one's request. After `ctx.timeout`
        the last look is returned (sync_request then asks for a refresh only)."""
        last: list[Mapping[str, Any]] = []

        async def settled() -> Mapping[str, Any] | None:
            found = await argocd_objects.read(ctx.client, obj)
            if found is None:
                raise TargetObjectMissingError(f"{obj} does not exist")
            last[:] = [found]
            return None if operation_running(found) else found

        done = await poll(settled, seconds=ctx.timeout, interval=0.2, max_interval=ctx.interval)
        return done if done is not None else last[0]

    async def observe(self, ctx: TargetContext, app: str, commit: str) -> TargetStatus:
        obj = self._owner(ctx, app)
        found = await argocd_objects.read(ctx.client, obj)
        if found is None:
            return TargetStatus(
                phase="failed",
                revision=None,
                reason="NotFound",
                message=f"{obj} does not exist",
                owner=obj,
            )
        synced = synced_revision(found)
        operated = operation_revision(found)
        look = partial(
            application_status,
            found,
            synced_has_commit=synced is not None and await ctx.contains(commit, synced),
            operation_has_commit=operated is not None and await ctx.contains(commit, operated),
            owner=obj,
        )
        status = look()
        if degraded_without_details(status, found):
            status = look(live_degraded=await self._live_degraded(ctx, status))
        return status

    async def _live_degraded(self, ctx: TargetContext, status: TargetStatus) -> list[str]:
        """The Application's degraded resources, read live with Shiplane's health rules
        (kstatus/Argo CD's): Argo CD 3 keeps each resource's health message in its
        resource tree (in its Redis), not in the Application."""
        refs = [ObjRef(e.api_version, e.kind, e.namespace or "", e.name) for e in status.inventory]
        try:
            health = await check_health(ctx.client, refs)
        except OSError:
            return []
        return [
            f"{item.ref.kind} {item.ref.namespace}/{item.ref.name}: "
            + ": ".join(p for p in (item.health.reason, item.health.message) if p)
            for item in health.by_status(HealthStatus.DEGRADED)
        ]


TARGETS.register("argocd", schema=ArgoCDTargetConfig, description="hand-off to Argo CD")(
    ArgoCDTarget()
)
