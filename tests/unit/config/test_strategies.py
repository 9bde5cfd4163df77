"""`strategy` per environment, overridden per app; the canary's step models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shiplane.config import load_project_text
from shiplane.config.models import StrategyConfig
from shiplane.domain.canary import Analysis, Pause, SetWeight

PROJECT = """
apiVersion: shiplane/v1alpha1
project: shop
clusters: {c: {kubeconfig: ~/.kube/config}}
environments:
  dev: {cluster: c, namespace: dev}
  prod:
    cluster: c
    namespace: prod
    strategy:
      canary:
        steps: [{setWeight: 25}, {pause: {}}, {pause: 5m}, {analysis: [smoke]}, {setWeight: 60}]
apps:
  web: {images: [r.example/web], manifests: {path: apps/web}}
  api:
    images: [r.example/api]
    manifests: {path: apps/api}
    strategies: {prod: rolling, dev: {canary: {steps: [{setWeight: 50}]}}}
checks:
  smoke: {http: {url: "http://web/healthz"}}
"""


def test_the_environment_sets_the_default_and_an_app_overrides_it() -> None:
    project = load_project_text(PROJECT, "shiplane.yaml")
    assert project.strategy_for("dev", "web").kind == "rolling"  # the default
    prod_web = project.strategy_for("prod", "web")
    assert prod_web.kind == "canary" and prod_web.canary is not None
    assert prod_web.canary.traffic == "replicas"
    assert prod_web.canary.plan() == [
        SetWeight(25),
        Pause(None),
        Pause(300),
        Analysis(("smoke",)),
        SetWeight(60),
    ]
    assert project.strategy_for("prod", "api").kind == "rolling"
    assert project.strategy_for("dev", "api").kind == "canary"


def test_a_strategy_is_exactly_one_kind() -> None:
    with pytest.raises(ValidationError, match="exactly one of rolling, canary, blueGreen"):
        StrategyConfig.model_validate({"rolling": {}, "canary": {"steps": [{"setWeight": 5}]}})
    with pytest.raises(ValidationError, match="at least 1 item"):
        StrategyConfig.model_validate({"canary": {"steps": []}})
    blue_green = StrategyConfig.model_validate({"blueGreen": {"previewService": "web-preview"}})
    assert blue_green.kind == "blueGreen" and blue_green.blue_green is not None
    assert blue_green.blue_green.scale_down_delay == 30
