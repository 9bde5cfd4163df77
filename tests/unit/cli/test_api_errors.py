"""How the CLI reports a refused request: the server's hint is shown, and a filter the
server does not know (`history stagin`, `--state faild`) is a usage error, exit 2."""

from __future__ import annotations

import json

import pytest
import typer

from shiplane.cli.client import ApiError, _problem_detail_and_field
from shiplane.cli.output import EXIT_FAILURE, EXIT_USAGE, reporting_failures


def _problem(status: int, body: dict[str, object]) -> tuple[int, str, bytes]:
    # What the CLI's client hands over: status, reason phrase and the raw body.
    return status, "", json.dumps(body).encode()


def test_the_hint_and_field_come_with_the_detail() -> None:
    detail, field = _problem_detail_and_field(
        *_problem(
            422,
            {
                "detail": "query.environment: environment 'stagin' is not defined",
                "hint": "did you mean 'staging'?",
                "field": "query.environment",
            },
        )
    )
    assert detail == (
        "query.environment: environment 'stagin' is not defined; did you mean 'staging'?"
    )
    assert field == "query.environment"
    assert _problem_detail_and_field(*_problem(404, {"detail": "no release"})) == (
        "no release",
        None,
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ApiError(422, "query.state: state 'faild' is not defined", "query.state"), EXIT_USAGE),
        (ApiError(422, "artifacts.web: ...", "body.artifacts.web"), EXIT_FAILURE),
        (ApiError(404, "no release 'x'"), EXIT_FAILURE),
    ],
)
def test_unknown_filter_values_exit_2(
    error: ApiError, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as info, reporting_failures():
        raise error
    assert info.value.exit_code == code
    assert capsys.readouterr().err.startswith("error: ")
