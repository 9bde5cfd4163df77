"""Pieces shared by the checks' configuration schemas.

Field names follow `shiplane.config.models` (camelCase in YAML, snake_case in Python,
durations written `30s`, `5m`, `1h30m` and held as whole seconds).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr, WithJsonSchema
from pydantic.alias_generators import to_camel

from shiplane.config.models import Duration, HttpUrl
from shiplane.gates.checks.expressions import check_expression, check_template

__all__ = ["CheckModel", "Duration", "Expression", "HttpUrl", "Templated", "TemplatedUrl"]


class CheckModel(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        use_attribute_docstrings=True,
    )


Expression = Annotated[
    StrictStr,
    AfterValidator(check_expression),
    WithJsonSchema({"type": "string", "minLength": 1, "description": "A CEL expression."}),
]
"""A CEL expression, compiled when the config is read so syntax errors surface early."""


Templated = Annotated[StrictStr, AfterValidator(check_template)]
"""Text with `{{environment}}`, `{{namespace}}`, `{{app}}`, `{{release}}` placeholders."""

TemplatedUrl = Annotated[HttpUrl, AfterValidator(check_template)]
