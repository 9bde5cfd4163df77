"""`tier`: what an environment is for; production environments make the project's DORA
figures (docs/insights.md)."""

from __future__ import annotations

import pytest

from shiplane.config import load_project_text
from shiplane.config.problems import ConfigError
from shiplane.config.schema import project_json_schema

BASE = """\
apiVersion: shiplane/v1alpha1
project: shop
clusters:
  local: {inCluster: true}
environments:
  dev: {cluster: local, namespace: dev}
  prod: {cluster: local, namespace: prod, after: [dev], tier: production}
apps: {}
"""


def test_tier_defaults_to_development_and_takes_production() -> None:
    project = load_project_text(BASE)
    assert project.environments["dev"].tier == "development"
    assert project.environments["prod"].tier == "production"


def test_an_unknown_tier_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as error:
        load_project_text(BASE.replace("tier: production", "tier: prod"))
    assert "environments.prod.tier" in str(error.value)
    assert "'production'" in str(error.value)


def test_the_schema_lists_the_tiers() -> None:
    tier = project_json_schema()["$defs"]["EnvironmentConfig"]["properties"]["tier"]
    assert tier["enum"] == ["development", "testing", "staging", "production"]
    assert tier["default"] == "development"
