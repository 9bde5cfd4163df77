"""The Gateway API canary's objects (pure): the route's weighted rules, the canary
Service, the route's weights as the tests and the benchmark see them."""

from __future__ import annotations

import json
from typing import Any

from shiplane.strategies.canary_routes import (
    backend_services,
    canary_service,
    route_weights,
    weighted_rules,
)

RULES: list[dict[str, Any]] = [
    {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
     "backendRefs": [{"group": "", "kind": "Service", "name": "web", "port": 80, "weight": 1}]},
    {"backendRefs": [{"name": "api", "port": 80, "weight": 3},
                     {"name": "other", "namespace": "elsewhere", "port": 80}]},
]  # fmt: skip
ROUTE = {"metadata": {"name": "web"}, "spec": {"rules": RULES}}


def test_backend_services_are_the_local_services_of_the_rules() -> None:
    assert backend_services(ROUTE) == ["web", "api"]  # `other` is in another namespace


def test_each_stable_backend_is_split_with_its_canary_by_the_weight() -> None:
    rules = weighted_rules(RULES, ["web", "api"], 25)
    assert route_weights({"spec": {"rules": rules}}) == {
        "web": 75,
        "web-canary": 25,
        "api": 225,  # its weight 3 keeps its share against `other`
        "api-canary": 75,
        "other": 1,
    }
    assert rules[0]["matches"] == RULES[0]["matches"]  # the rest of a rule is kept
    assert RULES[0]["backendRefs"][0]["weight"] == 1  # the input is not changed
    only_web = weighted_rules(RULES, ["web"], 100)
    assert route_weights({"spec": {"rules": only_web}}) == {
        "web": 0,
        "web-canary": 100,
        "api": 3,
        "other": 1,
    }


def test_the_canary_service_selects_the_canary_track_and_notes_the_rules() -> None:
    rendered = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "resourceVersion": "3"},
        "spec": {"type": "NodePort", "clusterIP": "10.0.0.1", "selector": {"app": "web"},
                 "ports": [{"port": 80, "nodePort": 30080}]},
    }  # fmt: skip
    svc = canary_service(rendered, environment="prod", app="web", route="web", rules=RULES)
    meta = svc["metadata"]
    assert meta["name"] == "web-canary" and "resourceVersion" not in meta
    assert meta["labels"]["shiplane.dev/track"] == "canary"
    assert meta["annotations"]["shiplane.dev/canary-of"] == "web"
    assert json.loads(meta["annotations"]["shiplane.dev/route-rules"]) == {
        "route": "web",
        "rules": RULES,
    }
    assert svc["spec"] == {
        "type": "ClusterIP",
        "selector": {"app": "web", "shiplane.dev/track": "canary"},
        "ports": [{"port": 80}],
    }
    assert rendered["spec"]["selector"] == {"app": "web"}
