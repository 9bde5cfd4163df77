"""The `gatewayAPI` traffic mode of a canary (docs/strategies.md): the canary Deployment
beside the stable one, a canary Service per stable Service of the app's HTTPRoute, and
the weight written into the route's backendRefs. The steps (setWeight, pause,
analysis) are the canary's own (canary.py); this module moves the traffic.

Its part of the canary's state:

    route   {"name": the HTTPRoute, "services": {stable Service: its rendered object},
             "rules": the live route's rules before the canary (written back on abort),
             "hashes": {stable Service: pod-template-hash of the stable pods it selects}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shiplane.config.models import CanaryConfig
from shiplane.domain import canary as rules
from shiplane.strategies.base import StrategyConfigError, StrategyContext
from shiplane.strategies.canary_kube import apply_deployment, delete_deployment, get_deployment
from shiplane.strategies.canary_objects import (
    CANARY_TRACK,
    TRACK_LABEL,
    canary_name,
    canary_object,
    deployments,
    http_routes,
    rollout_done,
    services,
)
from shiplane.strategies.canary_routes import (
    POD_TEMPLATE_HASH,
    ROUTE_RULES_ANNOTATION,
    STABLE_SERVICE_ANNOTATION,
    backend_services,
    canary_service,
    canary_service_name,
    route_object,
    selects,
    weighted_rules,
)
from shiplane.strategies.route_kube import get_route, pod_template_hash, set_rules
from shiplane.strategies.service_kube import (
    apply_service,
    delete_service,
    list_services,
    set_selector_key,
)

if TYPE_CHECKING:
    from lightkube import AsyncClient


def start(cfg: CanaryConfig, app: str, objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The state's templates and route, or StrategyConfigError when the objects lack the
    route, a Deployment, or a Service the route sends traffic to."""
    name = cfg.http_route or app
    route = route_object(objects, name)
    if route is None:
        found = http_routes(objects)
        raise StrategyConfigError(
            f"canary traffic gatewayAPI needs an HTTPRoute named {name!r} among "
            f"{app}'s manifests (found: {', '.join(found) or 'none'})"
        )
    templates = deployments(objects)
    if not templates:
        raise StrategyConfigError(f"a canary needs a Deployment among {app}'s manifests")
    rendered = services(objects)
    stable = [s for s in backend_services(route) if s in rendered]
    if not stable:
        raise StrategyConfigError(
            f"the HTTPRoute {name!r} sends traffic to no Service among {app}'s manifests "
            f"(its backends: {', '.join(backend_services(route)) or 'none'})"
        )
    return {
        "templates": templates,
        "route": {"name": name, "services": {s: rendered[s] for s in stable}},
    }


async def begin(ctx: StrategyContext, state: dict[str, Any]) -> str | None:
    """Before the first step: keep the live route's rules and the stable pods' hashes.
    A reason when the canary cannot run (the route is not live yet)."""
    route = dict(state["route"])
    live = await get_route(ctx.client, ctx.namespace, route["name"])
    if live is None:
        return (
            f"the HTTPRoute {route['name']} does not run yet: deploy it once without a "
            "canary (e.g. strategies: {ENV: rolling})"
        )
    route["rules"] = (live.get("spec") or {}).get("rules") or []
    hashes: dict[str, str] = {}
    for service, rendered in route["services"].items():
        selector = (rendered.get("spec") or {}).get("selector") or {}
        for template in state.get("templates") or []:
            pod_labels = ((template.get("spec") or {}).get("template") or {}).get("metadata") or {}
            if not selects(selector, pod_labels.get("labels") or {}):
                continue
            deployment = await get_deployment(
                ctx.client, ctx.namespace, template["metadata"]["name"]
            )
            found = (
                None
                if deployment is None
                else await pod_template_hash(ctx.client, ctx.namespace, deployment)
            )
            if found is not None:
                hashes[service] = found
    route["hashes"] = hashes
    state["route"] = route
    return None


async def set_weight(
    ctx: StrategyContext, state: Mapping[str, Any], weight: int
) -> tuple[bool, str]:
    """The canary Deployments at `weight` percent of the stable replicas; once they are
    ready, the canary Services, the stable Services pinned to the stable pods, and the
    weights in the route. Whether all is done, and what runs."""
    ready = True
    notes: list[str] = []
    for template in state.get("templates") or []:
        name = str(template["metadata"]["name"])
        replicas = rules.routed_canary_replicas(
            int((state.get("stable") or {}).get(name, 1)), weight
        )
        obj = canary_object(template, replicas, environment=ctx.environment, app=ctx.app)
        await apply_deployment(ctx.client, ctx.namespace, obj)
        live = await get_deployment(ctx.client, ctx.namespace, canary_name(name))
        done = live is not None and rollout_done(live, replicas)
        ready = ready and done
        notes.append(f"{canary_name(name)} {replicas}" + ("" if done else " not ready yet"))
    if not ready:
        return False, "; ".join(notes)
    route = state["route"]
    for service, rendered in route["services"].items():
        await apply_service(
            ctx.client,
            ctx.namespace,
            canary_service(
                rendered,
                environment=ctx.environment,
                app=ctx.app,
                route=route["name"],
                rules=route["rules"],
            ),
        )
        pin = (route.get("hashes") or {}).get(service)
        if pin is not None:
            await set_selector_key(ctx.client, ctx.namespace, service, POD_TEMPLATE_HASH, pin)
    stable = list(route["services"])
    await set_rules(
        ctx.client, ctx.namespace, route["name"], weighted_rules(route["rules"], stable, weight)
    )
    split = ", ".join(f"{s} {100 - weight} / {canary_service_name(s)} {weight}" for s in stable)
    return True, f"HTTPRoute {route['name']}: {split}; " + "; ".join(notes)


async def remove(ctx: StrategyContext, state: Mapping[str, Any], *, restore_route: bool) -> str:
    """Remove the canary: the route's rules as before it (`restore_route`, an abort; after
    the sync the route is as git says), the stable Services' selectors as git's, then
    the canary Services and Deployments."""
    route = state.get("route") or {}
    done: list[str] = []
    restored = restore_route and "rules" in route
    if restored and await set_rules(ctx.client, ctx.namespace, route["name"], route["rules"]):
        done.append(f"HTTPRoute {route['name']} sends all traffic to the stable version")
    gone = await _remove_objects(
        ctx.client,
        ctx.namespace,
        list(route.get("services") or {}),
        [canary_name(str(t["metadata"]["name"])) for t in state.get("templates") or []],
    )
    if gone:
        done.append(f"removed {', '.join(gone)}")
    return "; ".join(done) or "no canary to remove"


async def _remove_objects(
    client: AsyncClient, namespace: str, stable_services: Sequence[str], deployments_: Sequence[str]
) -> list[str]:
    gone: list[str] = []
    for service in stable_services:
        await set_selector_key(client, namespace, service, POD_TEMPLATE_HASH, None)
        if await delete_service(client, namespace, canary_service_name(service)):
            gone.append(canary_service_name(service))
    gone += [n for n in deployments_ if await delete_deployment(client, namespace, n)]
    return gone


async def leftover_services(client: AsyncClient, namespace: str) -> list[dict[str, Any]]:
    """The canary Services Shiplane made in `namespace` (by the canary track label)."""
    return await list_services(client, namespace, f"{TRACK_LABEL}={CANARY_TRACK}")


async def remove_leftover_service(
    client: AsyncClient, namespace: str, live: Mapping[str, Any]
) -> None:
    """What a process that died in an abort left: write back the route's rules noted on
    the canary Service, give the stable Service git's selector, delete the canary Service."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    noted = annotations.get(ROUTE_RULES_ANNOTATION)
    if noted:
        saved = json.loads(noted)
        await set_rules(client, namespace, str(saved["route"]), saved["rules"])
    stable = annotations.get(STABLE_SERVICE_ANNOTATION)
    if stable:
        await _remove_objects(client, namespace, [str(stable)], [])
