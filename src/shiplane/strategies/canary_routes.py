"""The objects of a canary in `gatewayAPI` mode, built from the app's rendered objects
and the live HTTPRoute. Pure: no I/O.

The app's HTTPRoute sends its traffic to the stable Services (its `backendRefs`). A
canary adds, for each of them, a canary Service `<service>-canary` selecting only the
canary's pods, and writes the weights into the route: every backendRef to a stable
Service of weight w becomes two, the stable Service at w·(100-N) and its canary at
w·N. The route's rules as they were before the canary are kept (in the state and on
the canary Service), so an abort writes exactly them back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.kube.apply_objects import clean, mark_owned
from shiplane.strategies.canary_objects import CANARY_TRACK, SUFFIX, TRACK_LABEL

GATEWAY_GROUP = "gateway.networking.k8s.io"
ROUTE_RULES_ANNOTATION = "shiplane.dev/route-rules"
"""On a canary Service: `{"route": name, "rules": [...]}`, the route's rules before the
canary, so that the sweep at start can write them back after a process died."""
STABLE_SERVICE_ANNOTATION = "shiplane.dev/canary-of"
POD_TEMPLATE_HASH = "pod-template-hash"
"""The label the Deployment controller gives each ReplicaSet's pods: added to a stable
Service's selector while a canary runs, so the stable Service selects only the stable
pods (the canary's pods carry the stable labels too)."""


def route_object(objects: Sequence[Mapping[str, Any]], name: str) -> dict[str, Any] | None:
    for o in objects:
        if (
            o.get("kind") == "HTTPRoute"
            and str(o.get("apiVersion", "")).startswith(f"{GATEWAY_GROUP}/")
            and (o.get("metadata") or {}).get("name") == name
        ):
            return clean(o)
    return None


def _is_service_ref(ref: Mapping[str, Any], namespace: str | None = None) -> bool:
    return (
        ref.get("group", "") in ("", "core")
        and ref.get("kind", "Service") == "Service"
        and ref.get("namespace") in (None, namespace)
    )


def backend_services(route: Mapping[str, Any]) -> list[str]:
    """The Services (of the route's own namespace) the route sends traffic to, in order."""
    found: list[str] = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            name = str(ref.get("name"))
            if _is_service_ref(ref) and not name.endswith(SUFFIX) and name not in found:
                found.append(name)
    return found


def weighted_rules(
    rules: Sequence[Mapping[str, Any]], stable: Sequence[str], weight: int
) -> list[dict[str, Any]]:
    """The route's `rules` with `weight` percent of each stable Service's share on its
    canary Service (weight 0: the rules unchanged but for explicit weights)."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        new_rule = copy.deepcopy(dict(rule))
        refs: list[dict[str, Any]] = []
        for ref in rule.get("backendRefs") or []:
            name = str(ref.get("name"))
            if not (_is_service_ref(ref) and name in stable):
                refs.append(copy.deepcopy(dict(ref)))
                continue
            share = int(ref.get("weight", 1))
            refs.append({**copy.deepcopy(dict(ref)), "weight": share * (100 - weight)})
            canary = {**copy.deepcopy(dict(ref)), "name": canary_service_name(name)}
            refs.append({**canary, "weight": share * weight})
        if "backendRefs" in rule:
            new_rule["backendRefs"] = refs
        out.append(new_rule)
    return out


def route_weights(route: Mapping[str, Any]) -> dict[str, int]:
    """{backend Service: total weight} over the route's rules (the tests' and the
    benchmark's view of where traffic goes)."""
    totals: dict[str, int] = {}
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            name = str(ref.get("name"))
            totals[name] = totals.get(name, 0) + int(ref.get("weight", 1))
    return totals


def canary_service_name(stable: str) -> str:
    return f"{stable}{SUFFIX}"


def canary_service(
    rendered: Mapping[str, Any],
    *,
    environment: str,
    app: str,
    route: str,
    rules: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The canary Service for a stable Service: its ports, its selector plus the canary
    track (only the canary's pods), the route's rules before the canary noted on it."""
    obj = mark_owned(clean(copy.deepcopy(dict(rendered))), environment, app)
    meta = obj.setdefault("metadata", {})
    stable = str(meta["name"])
    meta["name"] = canary_service_name(stable)
    meta.setdefault("labels", {})[TRACK_LABEL] = CANARY_TRACK
    annotations = meta.setdefault("annotations", {})
    annotations[STABLE_SERVICE_ANNOTATION] = stable
    annotations[ROUTE_RULES_ANNOTATION] = json.dumps({"route": route, "rules": list(rules)})
    spec = obj.setdefault("spec", {})
    headless = spec.get("clusterIP") == "None"  # kept: a headless Service takes no address
    for key in ("clusterIP", "clusterIPs", "externalName", "loadBalancerIP"):
        spec.pop(key, None)
    if headless:
        spec["clusterIP"] = "None"
    spec["type"] = "ClusterIP"
    spec["ports"] = [
        {k: v for k, v in p.items() if k != "nodePort"} for p in spec.get("ports") or []
    ]
    spec["selector"] = {**(spec.get("selector") or {}), TRACK_LABEL: CANARY_TRACK}
    return obj


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
