"""The checks a strategy's analysis step runs: the project's named checks (http,
prometheus, job, health, soak), stepped from their saved state like verification's.

Health and soak checks look at the app's objects as the last sync left them (its
inventory): during a canary, the stable version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightkube import AsyncClient

from shiplane.domain.errors import NotFoundError
from shiplane.domain.promotion import Promotion
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.verification import health_probe
from shiplane.gates import checks
from shiplane.gates.checks import CheckResult, CheckSpec, step
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.store.records import ReleaseRecord
from shiplane.strategies import Analyse

if TYPE_CHECKING:
    from shiplane.engine.clusters import ClusterHandle


def analyser(
    rt: Runtime, p: Promotion, app: str, handle: ClusterHandle, release: ReleaseRecord
) -> Analyse:
    async def analyse(
        name: str, run_id: str, state: Mapping[str, Any] | None
    ) -> tuple[CheckResult, dict[str, Any]]:
        project = rt.project
        check = project.checks.get(name)
        if check is None:
            raise NotFoundError(f"no check {name!r} in shiplane.yaml")
        refs = await rt.read(
            lambda s: [
                ObjRef.from_json(o) for o in deploys.get_inventory(s, p.environment, app) or []
            ]
        )

        def kube() -> AsyncClient:
            return handle.client

        ctx = checks.CheckContext(
            environment=p.environment,
            namespace=project.require_environment(p.environment).namespace,
            release=release.info(),
            apps=(app,),
            run_id=run_id,
            kube=kube,
            health=lambda: health_probe(handle, refs),
            clock=rt.clock,
        )
        return await step(ctx, CheckSpec.from_project(name, check), state)

    return analyse
