"""`flux`: hand the pin commit to the Flux that runs in the environment's cluster
(docs/handoff.md).

Flux cannot read a pin, so the pin commit also carries the app's rendered objects (what
Shiplane rendered and dry-ran) at `rendered/<env>/<app>/manifests.yaml`, and the app's
Kustomization applies that directory (or `rendered/<env>` for all apps of the
environment). After the push the target sets `reconcile.fluxcd.io/requestedAt` on the
GitRepository and the Kustomization, and the engine waits until the Kustomization is
Ready with `status.lastAppliedRevision` at the commit (or a later one of the branch).
"""

from __future__ import annotations

from pydantic import BaseModel

from shiplane.config.models import FluxTargetConfig, split_object_name
from shiplane.targets import flux_objects
from shiplane.targets.base import (
    Hydration,
    TargetConfigError,
    TargetContext,
    TargetObject,
    TargetStatus,
)
from shiplane.targets.flux_status import kustomization_status, revision_sha, source_problem
from shiplane.targets.registry import TARGETS
from shiplane.targets.rendered import MANIFESTS_FILE, RENDERED_ROOT, rendered_dir


def _config(config: BaseModel) -> FluxTargetConfig:
    if not isinstance(config, FluxTargetConfig):
        raise TargetConfigError(f"expected a flux section, got {type(config).__name__}")
    return config


def _normal_path(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(parts)


class FluxTarget:
    own_sync = False
    # Flux applies the whole commit at once: no weights, previews or pauses between.
    strategies = frozenset({"rolling"})

    def owners(self, config: BaseModel, app: str) -> tuple[TargetObject, ...]:
        git_repository, kustomization = _config(config).owner(app)
        found = [TargetObject("GitRepository", *split_object_name(git_repository))]
        if kustomization is not None:
            found.append(TargetObject("Kustomization", *split_object_name(kustomization)))
        return tuple(found)

    def hydration(self, environment: str, app: str) -> Hydration | None:
        return Hydration(f"{rendered_dir(environment, app)}/{MANIFESTS_FILE}")

    async def check(self, ctx: TargetContext, app: str) -> list[str]:
        problems: list[str] = []
        owners = self.owners(ctx.config, app)
        if len(owners) < 2:
            return [f"no Kustomization owns app {app!r} (name one in deploy.flux)"]
        source, kustomization = owners
        where = f"the cluster of environment {ctx.environment!r}"
        if await flux_objects.read(ctx.client, source) is None:
            problems.append(f"{source} does not exist in {where}")
        found = await flux_objects.read(ctx.client, kustomization)
        if found is None:
            problems.append(f"{kustomization} does not exist in {where}")
            return problems
        spec = found.get("spec") or {}
        ref = spec.get("sourceRef") or {}
        ref_ns = ref.get("namespace") or kustomization.namespace
        if (ref.get("kind"), ref_ns, ref.get("name")) != (
            "GitRepository",
            source.namespace,
            source.name,
        ):
            problems.append(
                f"{kustomization} reads {ref.get('kind')} {ref_ns}/{ref.get('name')}, not {source}"
            )
        path = _normal_path(str(spec.get("path") or ""))
        allowed = {rendered_dir(ctx.environment, app), f"{RENDERED_ROOT}/{ctx.environment}"}
        if path not in allowed:
            problems.append(
                f"{kustomization} applies path {spec.get('path')!r}; Shiplane writes app "
                f"{app!r} to ./{rendered_dir(ctx.environment, app)} "
                f"(or name ./{RENDERED_ROOT}/{ctx.environment} for every app)"
            )
        return problems

    async def request(self, ctx: TargetContext, app: str, commit: str) -> None:
        now = ctx.clock.now()
        for obj in self.owners(ctx.config, app):
            await flux_objects.request_reconcile(ctx.client, obj, now)

    async def observe(self, ctx: TargetContext, app: str, commit: str) -> TargetStatus:
        owners = self.owners(ctx.config, app)
        kustomization = owners[-1]
        found = await flux_objects.read(ctx.client, kustomization)
        if found is None:
            return TargetStatus(
                phase="failed",
                revision=None,
                reason="NotFound",
                message=f"{kustomization} does not exist",
                owner=kustomization,
            )
        status = found.get("status") or {}
        applied = revision_sha(status.get("lastAppliedRevision"))
        attempted = revision_sha(status.get("lastAttemptedRevision"))
        return kustomization_status(
            found,
            applied_has_commit=applied is not None and await ctx.contains(commit, applied),
            attempted_has_commit=attempted is not None and await ctx.contains(commit, attempted),
            owner=kustomization,
        )

    async def source_problem(self, ctx: TargetContext, app: str) -> str | None:
        """Why the app's GitRepository has no artifact, for a timeout's message."""
        found = await flux_objects.read(ctx.client, self.owners(ctx.config, app)[0])
        return None if found is None else source_problem(found)


TARGETS.register("flux", schema=FluxTargetConfig, description="hand-off to Flux")(FluxTarget())
