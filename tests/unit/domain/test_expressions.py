"""The one CEL module and the `{{name}}` templates: errors are InvalidErrors with a place."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shiplane.config.models import Expression
from shiplane.domain.errors import InvalidError
from shiplane.domain.expressions import (
    ExpressionError,
    _compile,
    compile_expression,
    evaluate,
    evaluate_bool,
)
from shiplane.domain.templates import TemplateError, check_template, render_template


def test_expression_errors_are_invalid_errors_with_a_location() -> None:
    with pytest.raises(InvalidError) as caught:
        evaluate_bool("release.labels.team == 'x'", {"release": {"labels": {}}})
    error = caught.value
    assert isinstance(error, ExpressionError) and isinstance(error, ValueError)
    assert (error.line, error.column) == (1, 16)
    assert error.problem == "no such key 'team' (use has(...) to test for it)"
    assert str(error).startswith("`release.labels.team == 'x'` at line 1, column 16: ")


def test_empty_expression_is_refused_before_compiling() -> None:
    with pytest.raises(ExpressionError, match="the expression is empty"):
        evaluate("  ", {})


def test_tuples_and_mappings_reach_cel_as_lists_and_maps() -> None:
    assert evaluate_bool(
        "'b' in apps && env.name == 'qa'", {"apps": ("a", "b"), "env": {"name": "qa"}}
    )


def test_config_compiles_expressions_when_read() -> None:
    class Model(BaseModel):
        expect: Expression

    assert Model(expect="response.status == 200").expect == "response.status == 200"
    with pytest.raises(ValidationError, match="not a valid CEL expression"):
        Model(expect="response.status ==")


def test_templates_fill_known_placeholders_only() -> None:
    assert render_template("{{ app }}-{{release}}", {"app": "web", "release": "r1"}) == "web-r1"
    with pytest.raises(TemplateError, match=r"unknown placeholder \{\{host\}\}") as caught:
        render_template("{{host}}", {"app": "web"})
    assert isinstance(caught.value, InvalidError)
    assert check_template("http://{{app}}.{{namespace}}/") == "http://{{app}}.{{namespace}}/"
    with pytest.raises(TemplateError):
        check_template("http://{{apps}}/")


@pytest.mark.parametrize(
    "text,message",
    [
        ("nope == 1", "at line 1, column 1: unknown name 'nope'"),
        ("1 + 'a' == 2", "No such overload"),
        ("1 / 0 == 1", "division by zero"),
        ("'text'", "must be true or false, got 'text'"),
    ],
)
def test_other_run_time_errors_become_expression_errors(text, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate_bool(text, {})
    assert message in str(caught.value) and caught.value.expression == text


def test_compiled_once_per_text():
    _compile.cache_clear()
    for _ in range(3):
        compile_expression("1 == 1")
        with pytest.raises(ExpressionError):
            compile_expression("1 ==")
    info = _compile.cache_info()
    assert (info.misses, info.hits) == (2, 4)
