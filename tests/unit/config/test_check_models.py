"""The check models are the plugins' schemas; http reads its older count/failureLimit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from shiplane.config import load_project_text
from shiplane.config.models import (
    CHECK_KINDS,
    CHECK_SCHEMAS,
    CheckConfig,
    HttpCheckConfig,
    UnknownNameError,
)
from shiplane.domain.errors import NotFoundError
from shiplane.gates.checks import CHECKS, CheckSpec

URL = "http://checkout/healthz"


def test_every_kind_has_one_plugin_registered_with_the_config_model() -> None:
    assert sorted(CHECK_KINDS) == CHECKS.names()
    for kind in CHECK_KINDS:
        assert CHECKS.get(kind).schema is CHECK_SCHEMAS[kind]
        assert CheckConfig.model_fields[kind].annotation == CHECK_SCHEMAS[kind] | None


@pytest.mark.parametrize(
    ("older", "attempts"),
    [
        ({"count": 3, "failureLimit": 2}, 3),
        ({"count": 5}, 1),
        ({"count": 2, "failure_limit": 1}, 2),
    ],
)
def test_http_reads_count_and_failure_limit_as_attempts(
    older: dict[str, int], attempts: int
) -> None:
    config = HttpCheckConfig.model_validate({"url": URL, **older})
    assert config.attempts == attempts
    assert config.model_dump(by_alias=True, exclude_unset=True) == {
        "url": URL,
        "attempts": attempts,
    }


@pytest.mark.parametrize(
    ("older", "message"),
    [
        ({"failureLimit": 1}, "failureLimit (1) must be lower than count (1)"),
        ({"count": 0}, "count: expected a whole number >= 1, got 0"),
        ({"count": True}, "count: expected a whole number >= 1, got true"),
        ({"failureLimit": 0, "attempts": 2}, "give 'attempts' only"),
    ],
)
def test_http_older_spelling_errors_are_clear(older: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        HttpCheckConfig.model_validate({"url": URL, **older})


def test_field_errors_come_before_the_older_spelling_check() -> None:
    with pytest.raises(ValidationError) as caught:
        HttpCheckConfig.model_validate({"url": "nope", "count": 2, "failureLimit": 2})
    assert [e["loc"] for e in caught.value.errors()] == [("url",)]


def test_project_check_is_the_plugin_config() -> None:
    project = load_project_text(
        "apiVersion: shiplane/v1alpha1\nproject: p\nclusters: {c: {kubeconfig: /x}}\n"
        "environments:\n  dev: {cluster: c, namespace: dev, verify: [up, ready]}\napps: {}\n"
        "checks:\n  up: {http: {url: 'http://{{app}}/', attempts: 4}}\n"
        "  ready: {health: {timeout: 2m}}\n",
        "shiplane.yaml",
    )
    spec = CheckSpec.from_project("up", project.checks["up"])
    assert spec.config is project.checks["up"].http
    assert (spec.kind, spec.config.attempts) == ("http", 4)  # type: ignore[attr-defined]
    health = CheckSpec.from_project("ready", project.checks["ready"])
    assert (health.kind, health.config.timeout) == ("health", 120)  # type: ignore[attr-defined]


def test_unknown_environment_and_app_suggest_the_nearest() -> None:
    project = load_project_text(
        "apiVersion: shiplane/v1alpha1\nproject: p\nclusters: {c: {kubeconfig: /x}}\n"
        "environments:\n  staging: {cluster: c, namespace: stg}\n"
        "  prod: {cluster: c, namespace: prd}\n"
        "apps: {checkout: {images: [r.example/checkout], manifests: {path: apps/checkout}}}\n",
        "shiplane.yaml",
    )
    assert project.require_environment("prod").namespace == "prd"
    with pytest.raises(UnknownNameError) as caught:
        project.require_environment("stagin")
    error = caught.value
    assert isinstance(error, NotFoundError) and isinstance(error, KeyError)
    assert (error.message, error.hint) == (
        "environment 'stagin' is not defined",
        "did you mean 'staging'?",
    )
    with pytest.raises(UnknownNameError) as far:
        project.require_environment("qa")
    assert far.value.hint == "defined environments: staging, prod"
    with pytest.raises(UnknownNameError, match="app 'checkot' is not defined"):
        project.require_apps(["checkout", "checkot"])


@pytest.mark.parametrize("doc", ["README.md", "docs/configuration.md", "docs/checks.md"])
def test_check_examples_of_the_docs_are_valid(doc: str) -> None:
    import yaml

    text = (Path(__file__).parents[3] / doc).read_text()
    blocks = re.findall(r"```yaml\n(checks:\n.*?)```", text, re.S)
    assert blocks, f"{doc} has no checks example"
    for block in blocks:
        for name, check in yaml.safe_load(block)["checks"].items():
            assert CheckConfig.model_validate(check).kind, name


def test_docs_checks_md_lists_exactly_the_fields_each_check_kind_accepts() -> None:
    """Item 8 of the day-one issue: the documented fields are the accepted ones, field by
    field, for every kind (a field in the docs that the schema refuses, or an accepted
    field the docs do not name, fails here)."""
    from shiplane.config.models.checks import CHECK_KINDS

    text = (Path(__file__).parents[3] / "docs/checks.md").read_text()
    for kind in CHECK_KINDS:
        section = re.search(rf"^### {kind}\n(.*?)(?=^### |^## )", text, re.S | re.M)
        assert section is not None, f"docs/checks.md has no section for {kind!r}"
        rows = re.findall(r"^\| ([^|]+) \|", section.group(1), re.M)
        documented = {name for row in rows for name in re.findall(r"`([A-Za-z]+)`", row)}
        model = CheckConfig.model_fields[kind].annotation
        model = next(a for a in get_args(model) if a is not type(None))
        accepted = {f.alias or name for name, f in model.model_fields.items()}
        assert documented == accepted, (kind, documented ^ accepted)
