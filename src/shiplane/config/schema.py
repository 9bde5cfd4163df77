"""JSON Schema of `shiplane.yaml`, for editors (completion, inline checks) and docs."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from shiplane.config.models import API_VERSION, ProjectConfig

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@cache
def _generated() -> dict[str, Any]:
    schema = ProjectConfig.model_json_schema(by_alias=True, mode="validation")
    defs = schema["$defs"]
    # Shapes accepted through "before" validators are invisible to pydantic's generator:
    # `after` may be a plain list, and a window's `allow`/`deny` may be a single rule.
    after = defs["AfterSpec"]
    defs["AfterSpec"] = {
        "description": after.get("description", ""),
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {k: v for k, v in after.items() if k != "description"},
        ],
    }
    for key in ("allow", "deny"):
        prop = defs["WindowConfig"]["properties"][key]
        rule = {"$ref": "#/$defs/WindowRule"}
        defs["WindowConfig"]["properties"][key] = {
            "description": prop.get("description", ""),
            "default": [],
            "anyOf": [rule, {"type": "array", "items": rule}],
        }
    # The older spelling of http's `attempts` (see models/checks.py), read by a "wrap"
    # validator: files that use it stay valid for editors, marked deprecated.
    http = defs["HttpCheckConfig"]["properties"]
    http["count"] = {
        "type": "integer",
        "minimum": 1,
        "deprecated": True,
        "description": "Older spelling, with failureLimit, of `attempts` (bounds failureLimit).",
    }
    http["failureLimit"] = {
        "type": "integer",
        "minimum": 0,
        "deprecated": True,
        "description": "Older spelling of `attempts`: attempts = failureLimit + 1.",
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "shiplane.yaml",
        "description": (
            f"A Shiplane project ({API_VERSION}): clusters, the environment graph, apps, "
            "checks, windows and conditions."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def project_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the project file; a fresh copy on every call."""
    return copy.deepcopy(_generated())
