"""Config schemas of the checks: defaults, camelCase names, clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from shiplane.domain.registry import PluginConfigError, UnknownPluginError
from shiplane.gates.checks import (
    CHECKS,
    CheckSpec,
    HttpCheckConfig,
    JobCheckConfig,
    PrometheusCheckConfig,
    SoakCheckConfig,
)


def test_registry_holds_every_check() -> None:
    assert CHECKS.names() == ["health", "http", "job", "prometheus", "soak"]


def test_defaults_and_durations() -> None:
    http = CheckSpec.parse("smoke", "http", {"url": "http://checkout/healthz"}).config
    assert isinstance(http, HttpCheckConfig)
    assert (http.method, http.expect, http.timeout, http.attempts) == (
        "GET",
        "response.status == 200",
        10,
        1,
    )
    prom = CheckSpec.parse(
        "error-rate",
        "prometheus",
        {
            "address": "http://prometheus:9090",
            "query": "x",
            "success": "result[0] < 0.01",
            "interval": "1m",
            "count": 5,
            "failureLimit": 1,
            "inconclusiveLimit": 2,
            "initialDelay": "30s",
        },
    ).config
    assert isinstance(prom, PrometheusCheckConfig)
    assert (prom.interval, prom.count, prom.failure_limit) == (60, 5, 1)
    assert (prom.inconclusive_limit, prom.initial_delay, prom.consecutive_error_limit) == (2, 30, 4)
    soak = CheckSpec.from_mapping("bake", {"soak": {"duration": "1h30m"}}).config
    assert isinstance(soak, SoakCheckConfig)
    assert soak.duration == 5400
    job = CheckSpec.parse("j", "job", {"image": "busybox", "backoffLimit": 2}).config
    assert isinstance(job, JobCheckConfig)
    assert (job.backoff_limit, job.timeout, job.ttl) == (2, 600, 3600)


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("soak", {}, "check 'soak': duration: Field required"),
        ("soak", {"duration": 30}, "duration: Value error, a duration needs a unit"),
        ("soak", {"duration": "5m", "extra": 1}, "extra: Extra inputs are not permitted"),
        ("http", {"url": "checkout/healthz"}, "url: Value error, 'checkout/healthz' is not a URL"),
        ("http", {"url": "http://x", "expect": "response.status =="}, "not a valid CEL expression"),
        ("http", {"url": "http://x", "attempts": 0}, "attempts: Input should be greater than"),
        ("http", {"url": "http://x", "method": "FETCH"}, "method: Input should be 'GET'"),
        (
            "http",
            {"url": "http://{{host}}/"},
            "url: Value error, unknown placeholder {{host}} (known: {{environment}}",
        ),
        (
            "prometheus",
            {"address": "http://p:9090", "query": "up"},
            "give 'success', 'failure' or both",
        ),
        (
            "prometheus",
            {"address": "http://p:9090", "query": "up", "success": "true", "failureLimit": 1},
            "failureLimit (1) must be lower than count (1)",
        ),
        ("job", {}, "give either 'image' or 'podSpec'"),
        (
            "job",
            {"podSpec": {"containers": [{"name": "a", "image": "b"}]}, "command": ["x"]},
            "with 'podSpec', put command into the pod spec",
        ),
        ("job", {"podSpec": {}}, "'podSpec' needs a non-empty 'containers' list"),
        ("health", {"timeout": "soon"}, "timeout: Value error, 'soon' is not a duration"),
    ],
)
def test_schema_errors_are_clear(kind: str, config: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginConfigError) as caught:
        CheckSpec.parse("c", kind, config)
    assert message in str(caught.value)


def test_unknown_kind_suggests_the_nearest() -> None:
    with pytest.raises(UnknownPluginError, match="did you mean 'prometheus'"):
        CheckSpec.from_mapping("c", {"prometeus": {}})


def test_exactly_one_kind_per_check() -> None:
    with pytest.raises(PluginConfigError, match=r"needs exactly one kind .* got http, soak"):
        CheckSpec.from_mapping("c", {"http": {}, "soak": {}})
    with pytest.raises(PluginConfigError, match="got none"):
        CheckSpec.from_mapping("c", {})


def test_config_examples_of_docs_parse() -> None:
    """The shiplane.yaml sketch of DESIGN.md reads as check specs."""
    smoke = CheckSpec.from_mapping(
        "smoke",
        {
            "http": {
                "url": "http://checkout.shop-qa.example/healthz",
                "expect": "response.status == 200",
            }
        },
    )
    assert smoke.kind == "http"
    rate = CheckSpec.from_mapping(
        "error-rate",
        {
            "prometheus": {
                "address": "http://prometheus:9090",
                "query": "...",
                "success": "result < 0.01",
                "interval": "1m",
                "count": 5,
                "failureLimit": 1,
            }
        },
    )
    assert rate.kind == "prometheus"


def test_checks_of_a_loaded_project_become_specs() -> None:
    from shiplane.config.loader import load_project_text

    project = load_project_text(
        """
apiVersion: shiplane/v1alpha1
project: shop
clusters: {c: {kubeconfig: k}}
environments: {qa: {cluster: c, namespace: shop-qa, verify: [smoke, error-rate, migrate, bake]}}
apps: {checkout: {images: [registry.example/shop/checkout], manifests: {path: apps/checkout}}}
checks:
  smoke: {http: {url: "http://checkout/healthz", count: 3, failureLimit: 2, interval: 10s}}
  error-rate:
    prometheus:
      address: http://prometheus:9090
      query: up
      success: "result[0] == 1"
      interval: 1m
      count: 5
      failureLimit: 1
  migrate: {job: {image: "registry.example/shop/migrate:1", timeout: 5m}}
  bake: {soak: {duration: 30m}}
"""
    )
    specs = {n: CheckSpec.from_project(n, c) for n, c in project.checks.items()}
    smoke = specs["smoke"].config
    assert isinstance(smoke, HttpCheckConfig)
    assert (smoke.attempts, smoke.interval) == (3, 10)
    rate = specs["error-rate"].config
    assert isinstance(rate, PrometheusCheckConfig)
    assert (rate.interval, rate.count, rate.failure_limit) == (60, 5, 1)
    migrate = specs["migrate"].config
    assert isinstance(migrate, JobCheckConfig)
    assert migrate.timeout == 300
    bake = specs["bake"].config
    assert isinstance(bake, SoakCheckConfig)
    assert bake.duration == 1800


def test_project_prometheus_fields_reach_the_plugin() -> None:
    from shiplane.config import load_project_text
    from shiplane.gates.checks.runner import CheckSpec

    project = load_project_text(
        "apiVersion: shiplane/v1alpha1\nproject: p\nclusters: {c: {kubeconfig: /x}}\n"
        "environments:\n  dev: {cluster: c, namespace: dev, verify: [err]}\napps: {}\n"
        "checks:\n  err:\n    prometheus:\n      address: http://127.0.0.1:9090\n"
        "      query: up\n      success: 'result[0] < 0.01'\n      failure: 'result[0] > 0.1'\n"
        "      inconclusiveLimit: 2\n      initialDelay: 30s\n      interval: 5s\n"
        "      count: 3\n",
        "shiplane.yaml",
    )
    config = CheckSpec.from_project("err", project.checks["err"]).config
    assert config.failure == "result[0] > 0.1"  # type: ignore[attr-defined]
    assert config.inconclusive_limit == 2  # type: ignore[attr-defined]
    assert config.initial_delay == 30  # type: ignore[attr-defined]
    assert config.interval == 5  # type: ignore[attr-defined]
