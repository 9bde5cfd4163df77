"""Building blocks of every config model: the base class and the common field types.

Field names are snake_case in Python and camelCase in YAML (`auto_promote` /
`autoPromote`). Durations are stored as whole seconds.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from shiplane.config import values
from shiplane.config.durations import DURATION_HELP, DURATION_PATTERN, parse_duration
from shiplane.domain.expressions import check_expression
from shiplane.domain.suggest import describe

API_VERSION = "shiplane/v1alpha1"

Name = Annotated[
    StrictStr,
    AfterValidator(values.check_name),
    WithJsonSchema({"type": "string", "pattern": values.NAME_PATTERN}),
]
"""A name of an environment, app, cluster, check, window or condition (a DNS label)."""

Ref = Annotated[StrictStr, WithJsonSchema({"type": "string", "minLength": 1})]
"""A reference to a name defined elsewhere in the file (checked by `references`)."""

Text = Annotated[StrictStr, AfterValidator(values.check_non_empty)]

Expression = Annotated[
    StrictStr,
    AfterValidator(check_expression),
    WithJsonSchema({"type": "string", "minLength": 1, "description": "A CEL expression."}),
]
"""A CEL expression (condition, check expectation, success or failure criterion),
compiled when the config is read, so `validate` and `serve` refuse a syntax error with
its location instead of a promotion finding it at run time."""

STORED = {"stored": True}
"""Validation context of a model read back from its own `model_dump` (a promotion keeps
the strategy it started with): durations are whole seconds there, not YAML text."""


def _duration(value: object, info: ValidationInfo) -> object:
    if isinstance(info.context, dict) and info.context.get("stored") and type(value) is int:
        return value
    return parse_duration(value)


Duration = Annotated[
    int,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": f"A duration: {DURATION_HELP}.",
        }
    ),
]
"""Whole seconds, written in YAML as `30s`, `5m`, `1h30m` or `2d`."""

HttpUrl = Annotated[
    StrictStr,
    AfterValidator(values.check_url),
    WithJsonSchema({"type": "string", "pattern": "^https?://.+"}),
]


def number(value: object) -> object:
    # pydantic's lax float would take `true` or "0.5"; a YAML number is meant.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {describe(value)}")
    return value


def list_of_rules(value: object) -> object:
    # `allow: {days: Mon-Fri}` is the common case; a list allows several rules.
    return [value] if isinstance(value, dict) else value


class ConfigModel(BaseModel):
    """Base of every model of shiplane.yaml: frozen, unknown keys are errors, camelCase
    aliases, attribute docstrings become the JSON Schema's descriptions."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        use_attribute_docstrings=True,
    )
