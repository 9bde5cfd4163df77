"""The JSON Schema accepts what the loader accepts and rejects typical mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shiplane.config import project_json_schema
from shiplane.config.scaffold import scaffold_files
from shiplane.config.yamlnodes import parse_yaml

jsonschema_rs = pytest.importorskip("jsonschema_rs")

HERE = Path(__file__).parent


def _data(text: str) -> Any:
    # The project's own YAML reading, so `from: 2026-12-20` stays the string it is for
    # editors (PyYAML's safe_load would turn it into a date).
    doc = parse_yaml(text)
    assert doc.problems == []
    return doc.data


def _errors(data: Any) -> list[tuple[str, list[str | int]]]:
    validator = jsonschema_rs.validator_for(project_json_schema())
    return [(e.message, list(e.instance_path)) for e in validator.iter_errors(data)]


def test_schema_header_for_editors() -> None:
    schema = project_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "shiplane.yaml"
    assert "shiplane/v1alpha1" in schema["description"]
    assert schema["required"] == ["apiVersion", "project", "clusters", "environments", "apps"]
    assert schema["additionalProperties"] is False
    json.dumps(schema)  # serialisable as is


def test_fields_carry_descriptions_and_yaml_names() -> None:
    defs = project_json_schema()["$defs"]
    env = defs["EnvironmentConfig"]["properties"]
    assert {"autoPromote", "selfHeal", "after", "soak", "approvals"} <= set(env)
    assert "auto_promote" not in env
    for name, definition in defs.items():
        for prop, spec in definition.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{prop} has no description"
    assert defs["ApprovalPolicy"]["properties"]["expiry"]["default"] == "24h"
    assert defs["WindowRule"]["properties"]["from"]["anyOf"]


@pytest.mark.parametrize("name", ["design.yaml", "full.yaml", "minimal.yaml"])
def test_valid_files_match_the_schema(name: str) -> None:
    assert _errors(_data((HERE / "valid" / name).read_text())) == []


def test_scaffolded_file_matches_the_schema() -> None:
    assert (
        _errors(
            _data(scaffold_files("demo", lambda cluster: f"/kube/{cluster}.yaml")["shiplane.yaml"])
        )
        == []
    )


def test_schema_rejects_typical_mistakes() -> None:
    data = _data((HERE / "corpus" / "many_errors.yaml").read_text())
    paths = [path for _, path in _errors(data)]
    assert ["environments", "qa", "soak"] in paths
    assert ["apps", "checkout", "manifests", "render"] in paths
    assert ["environments", "prod", "approvals"] in paths  # the unknown allowRequestor


def test_after_accepts_list_and_mapping_forms_only() -> None:
    base = _data((HERE / "valid" / "minimal.yaml").read_text())
    dev = base["environments"]["dev"]
    for after, ok in (([], True), ({"any": ["x"]}, True), ({"most": ["x"]}, False), ("x", False)):
        dev["after"] = after
        assert (_errors(base) == []) is ok, after


def test_schema_is_a_fresh_copy() -> None:
    project_json_schema()["title"] = "changed"
    assert project_json_schema()["title"] == "shiplane.yaml"
