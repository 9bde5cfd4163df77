"""The canary plugin's pure parts: the canary object, what fits, people's requests, and
the configuration a promotion keeps; the registry holds every strategy with its schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiplane.config.models import CanaryConfig, StrategyConfig
from shiplane.config.models.base import STORED
from shiplane.domain.canary import Progress
from shiplane.strategies import STRATEGIES, StrategyConfigError, StrategyRequestError
from shiplane.strategies.canary_objects import canary_object, deployments, rollout_done

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}, "resourceVersion": "7"},
    "spec": {
        "replicas": 4,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "r.example/web:2"}]},
        },
    },
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
CANARY = CanaryConfig.model_validate(
    {"steps": [{"setWeight": 25}, {"pause": {}}, {"analysis": ["smoke"]}, {"pause": "1m"}]}
)


def test_the_canary_is_the_new_spec_under_its_own_name_and_track() -> None:
    obj = canary_object(DEPLOYMENT, 1, environment="prod", app="web")
    meta, spec = obj["metadata"], obj["spec"]
    assert meta["name"] == "web-canary" and "resourceVersion" not in meta
    assert meta["labels"]["shiplane.dev/track"] == "canary"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "shiplane"
    assert meta["annotations"]["shiplane.dev/owner"] == "prod/web"
    assert meta["annotations"]["shiplane.dev/canary-of"] == "web"
    assert spec["replicas"] == 1
    # Its own pods only, but still the Service's (it selects app=web).
    assert spec["selector"]["matchLabels"] == {"app": "web", "shiplane.dev/track": "canary"}
    assert spec["template"]["metadata"]["labels"]["app"] == "web"
    assert spec["template"]["spec"]["containers"][0]["image"] == "r.example/web:2"
    assert DEPLOYMENT["metadata"]["name"] == "web"  # the template is not changed


def test_rollout_done_needs_the_generation_observed_and_the_replicas_ready() -> None:
    live = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "replicas": 2,
        },
    }
    assert rollout_done(live)
    assert not rollout_done({**live, "status": {**live["status"], "observedGeneration": 1}})
    assert not rollout_done({**live, "status": {**live["status"], "readyReplicas": 1}})
    assert not rollout_done({**live, "status": {**live["status"], "replicas": 3}})  # old ones
    assert rollout_done({"metadata": {}, "spec": {"replicas": 0}, "status": {}}, 0)


def test_start_takes_the_deployments_and_refuses_what_does_not_fit() -> None:
    canary = STRATEGIES.get("canary").plugin
    state = canary.start(CANARY, "web", [DEPLOYMENT, SERVICE])
    assert [t["metadata"]["name"] for t in state["templates"]] == ["web"]
    assert Progress.from_json(state["progress"]) == Progress()
    assert deployments([SERVICE]) == []
    with pytest.raises(StrategyConfigError, match="needs a Deployment"):
        canary.start(CANARY, "web", [SERVICE])
    gateway = CanaryConfig.model_validate({"traffic": "gatewayAPI", "steps": [{"setWeight": 100}]})
    with pytest.raises(StrategyConfigError, match="needs an HTTPRoute named 'web'"):
        canary.start(gateway, "web", [DEPLOYMENT])
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "web"}}  # fmt: skip
    with pytest.raises(StrategyConfigError, match="sends traffic to no Service"):
        canary.start(gateway, "web", [DEPLOYMENT, route])
    routed = {**route, "spec": {"rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}
    with pytest.raises(StrategyConfigError, match="needs a Deployment"):
        canary.start(gateway, "web", [SERVICE, routed])
    state = canary.start(gateway, "web", [DEPLOYMENT, SERVICE, routed])
    assert state["route"]["name"] == "web" and list(state["route"]["services"]) == ["web"]
    blue_green = StrategyConfig.model_validate({"blueGreen": {"previewService": "web-preview"}})
    plugin = STRATEGIES.get("blueGreen").plugin
    with pytest.raises(StrategyConfigError, match="missing: web-preview"):
        plugin.start(blue_green.spec, "web", [DEPLOYMENT, SERVICE])
    preview = {**SERVICE, "metadata": {"name": "web-preview"}}
    state = plugin.start(blue_green.spec, "web", [DEPLOYMENT, SERVICE, preview])
    assert state["services"]["active"] == "web" and state["phase"] == "preview"
    assert set(state["services"]["objects"]) == {"web", "web-preview"}


def test_resume_only_at_a_pause_and_skip_marks_the_current_step() -> None:
    canary = STRATEGIES.get("canary").plugin
    at_weight = {"progress": Progress(step=0).to_json()}
    with pytest.raises(StrategyRequestError, match="not paused"):
        canary.resume(CANARY, at_weight)
    paused = {"progress": Progress(step=1, weight=25).to_json()}
    assert canary.resume(CANARY, paused)["progress"]["resume"] == 1
    assert canary.skip(CANARY, at_weight)["progress"]["skip"] == 0
    with pytest.raises(StrategyRequestError):
        canary.skip(CANARY, {"progress": Progress(step=4).to_json()})
    assert canary.summary(CANARY, paused) == "canary 25% (step 2/4: pause until resumed)"


def test_a_promotion_keeps_the_configuration_it_started_with() -> None:
    kept = CANARY.model_dump(mode="json", by_alias=True)
    assert kept["steps"][3]["pause"]["duration"] == 60  # seconds, not YAML text
    assert CanaryConfig.model_validate(kept, context=STORED) == CANARY
    with pytest.raises(ValueError, match="needs a unit"):
        CanaryConfig.model_validate(kept)  # shiplane.yaml still needs `60s`


def test_every_strategy_is_registered_with_its_schema() -> None:
    assert STRATEGIES.names() == ["blueGreen", "canary", "rolling"]
    assert STRATEGIES.get("canary").schema is CanaryConfig
    assert not STRATEGIES.get("rolling").plugin.progressive
    assert STRATEGIES.get("canary").plugin.progressive


def test_the_strategy_examples_of_the_docs_are_valid() -> None:
    root = Path(__file__).parents[3]
    for doc in ("docs/strategies.md", "docs/configuration.md", "README.md"):
        blocks = re.findall(r"^```yaml\n(.*?)^```", (root / doc).read_text(), re.S | re.M)
        found = 0
        for block in (b for b in blocks if "strateg" in b):
            for strategy in _strategies(yaml.safe_load(block)):
                StrategyConfig.model_validate(strategy)
                found += 1
        assert found, doc


def _strategies(node: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "strategy":
                out.append(value)
            elif key == "strategies" and isinstance(value, dict):
                out += list(value.values())
            else:
                out += _strategies(value)
    elif isinstance(node, list):
        for item in node:
            out += _strategies(item)
    return out
