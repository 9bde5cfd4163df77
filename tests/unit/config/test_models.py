"""Valid files load into the typed model with parsed values and sensible defaults."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from pydantic import ValidationError

from shiplane.config import (
    ConfigError,
    ConfigProblem,
    EnvironmentConfig,
    ProjectConfig,
    load_project,
)
from shiplane.config.loader import load_project_text

VALID = Path(__file__).parent / "valid"


@pytest.mark.parametrize("name", ["design.yaml", "minimal.yaml", "full.yaml"])
def test_valid_files_load(name: str) -> None:
    config = load_project(VALID / name)
    assert isinstance(config, ProjectConfig)
    assert config.api_version == "shiplane/v1alpha1"


def test_design_example_values() -> None:
    config = load_project(VALID / "design.yaml")
    assert config.project == "shop"
    assert config.clusters["prod-eu"].context == "eu"
    assert config.environments["staging"].soak == 1800
    prod = config.environments["prod-eu"]
    assert prod.after.mode == "all"
    assert prod.after.environments == ("staging",)
    assert prod.approvals is not None
    assert prod.approvals.required == 2
    assert prod.approvals.expiry == 86400  # default 24h
    assert prod.rollback.on_failure == "auto"
    assert config.apps["payments"].manifests.render == "helm"
    rate = config.checks["error-rate"]
    assert rate.kind == "prometheus"
    assert rate.prometheus is not None
    assert (rate.prometheus.interval, rate.prometheus.count) == (60, 5)
    office = config.windows["business-hours"]
    assert office.allow[0].days == (0, 1, 2, 3, 4)
    assert (office.allow[0].from_, office.allow[0].to) == (time(9), time(17))
    assert office.tzinfo.key == "Europe/Berlin"
    freeze = config.windows["year-end-freeze"]
    assert freeze.deny[0].is_date_range
    assert (freeze.deny[0].from_, freeze.deny[0].to) == (date(2026, 12, 20), date(2027, 1, 3))
    assert freeze.timezone == "UTC"
    assert config.conditions["prod-only-main"].environments == ("prod-eu",)


def test_defaults() -> None:
    config = load_project(VALID / "minimal.yaml")
    dev = config.environments["dev"]
    assert dev.after.environments == ()
    assert dev.auto_promote is False
    assert dev.soak is None
    assert dev.approvals is None
    assert dev.rollback.on_failure == "manual"
    assert dev.freeze.allow_rollback is True
    assert (dev.prune.enabled, dev.prune.max_fraction) == (True, 0.5)
    assert dev.self_heal is False
    web = config.apps["web"]
    assert web.manifests.render == "plain"
    assert web.immutable_field_policy == "fail"
    assert config.checks == {} and config.windows == {} and config.conditions == {}


def test_full_file_values() -> None:
    config = load_project(VALID / "full.yaml")
    prod = config.environments["prod-eu"]
    assert prod.after.mode == "any"
    assert prod.after.environments == ("staging", "canary")
    assert prod.soak == 2 * 86400
    assert prod.prune.max_fraction == 0.25
    assert prod.freeze.allow_rollback is False
    assert config.environments["staging"].soak == 5400
    assert config.checks["tests"].kind == "job"
    assert config.checks["settle"].kind == "soak"
    assert config.checks["smoke"].kind == "http"
    office = config.windows["office"]
    assert office.allow[1].days == (5, 6)
    assert office.deny[0].days == (2,)
    assert config.apps["db"].chart is not None
    assert config.apps["db"].images == ()


def test_kubeconfig_path_resolution(tmp_path: Path) -> None:
    config = load_project(VALID / "full.yaml")
    assert (
        config.clusters["nonprod"].kubeconfig_path(tmp_path) == tmp_path / "clusters/nonprod.yaml"
    )
    assert (
        config.clusters["prod"].kubeconfig_path(tmp_path) == Path("~/.kube/prod.yaml").expanduser()
    )
    assert config.clusters["here"].kubeconfig_path(tmp_path) is None


def test_environment_order_is_topological_and_stable() -> None:
    config = load_project(VALID / "full.yaml")
    order = config.environment_order()
    assert order == ["dev", "qa", "canary", "staging", "prod-eu"]
    for name in order:
        for upstream in config.upstream(name):
            assert order.index(upstream) < order.index(name)
    assert config.downstream("qa") == ["canary", "staging"]
    assert config.app_order() == ["db", "api"]


def test_environment_order_follows_graph_not_file_order() -> None:
    text = (
        (VALID / "minimal.yaml")
        .read_text()
        .replace(
            "  dev: {cluster: local, namespace: tiny}\n",
            "  prod: {cluster: local, namespace: p, after: [stg]}\n"
            "  stg: {cluster: local, namespace: s, after: [dev]}\n"
            "  dev: {cluster: local, namespace: d}\n",
        )
    )
    assert load_project_text(text).environment_order() == ["dev", "stg", "prod"]


def test_models_are_frozen() -> None:
    config = load_project(VALID / "minimal.yaml")
    with pytest.raises(ValidationError):
        config.project = "other"  # type: ignore[misc]


def test_config_error_formats_one_problem_per_line() -> None:
    problems = [
        ConfigProblem("f.yaml", 3, 5, "environments.dev", "broken"),
        ConfigProblem("f.yaml", 0, 0, "", "file not found"),
        ConfigProblem("f.yaml", 1, 1, "", "the file is empty"),
    ]
    assert str(ConfigError(problems)).splitlines() == [
        "f.yaml:3:5: environments.dev: broken",
        "f.yaml: file not found",
        "f.yaml:1:1: the file is empty",
    ]


def test_missing_and_undecodable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: file not found"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"project: \xff\xfe\n")
    with pytest.raises(ConfigError) as info:
        load_project(binary)
    problem = info.value.problems[0]
    assert (problem.line, problem.column) == (1, 10)  # located now (issue 12)
    assert problem.message.startswith("not UTF-8 text: byte 0xff")


def test_python_callers_can_build_models_by_field_name() -> None:
    rebuilt = EnvironmentConfig.model_validate(
        {"cluster": "local", "namespace": "x", "auto_promote": True, "soak": "5m"}
    )
    assert rebuilt.auto_promote is True
    assert rebuilt.soak == 300


def test_the_complete_example_in_the_docs_is_valid() -> None:
    docs = Path(__file__).parents[3] / "docs" / "configuration.md"
    text = docs.read_text()
    start = text.index("## A complete example")
    block = text[
        text.index("```yaml\n", start) + len("```yaml\n") : text.index("```\n", start + 30)
    ]
    config = load_project_text(block, "configuration.md")
    assert config.environment_order() == ["dev", "qa", "staging", "prod-eu"]
    assert config.app_order() == ["checkout", "payments"]
    assert config.apps["payments"].chart is not None
