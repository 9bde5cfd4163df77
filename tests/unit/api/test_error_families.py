"""Each Shiplane error family maps to one HTTP status, once, at the API's edge."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shiplane.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers, status_of
from shiplane.domain.errors import (
    ConflictError,
    ExternalError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    ShiplaneError,
)


class _UnknownThing(NotFoundError):
    """A module's own error derives from a family and gets its status."""


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("no release 'x'"), 404),
        (_UnknownThing("no app 'x'"), 404),
        (InvalidError("bad field"), 422),
        (ConflictError("already finished"), 409),
        (ForbiddenError("cannot approve own request"), 403),
        (ExternalError("cluster unreachable"), 502),
        (ExternalError("cluster timed out", retryable=True), 503),
        (ShiplaneError("no family"), 500),
    ],
)
def test_status_of_family(error: ShiplaneError, status: int) -> None:
    assert status_of(error) == status


def test_handler_writes_problem_with_hint_and_details() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise InvalidError(
            "environment 'stagin' is not defined",
            hint="did you mean 'staging'?",
            details={"field": "environment"},
        )

    @app.get("/later")
    def later() -> None:
        raise ExternalError("git remote timed out", retryable=True)

    client = TestClient(app)
    response = client.get("/boom")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["detail"] == "environment 'stagin' is not defined"
    assert body["hint"] == "did you mean 'staging'?"
    assert body["field"] == "environment"
    retry = client.get("/later")
    assert retry.status_code == 503
    assert retry.headers["retry-after"] == "5"


def test_invalid_is_a_value_error_for_existing_callers() -> None:
    with pytest.raises(ValueError, match="bad"):
        raise InvalidError("bad")
    assert str(InvalidError("bad", hint="fix it")) == "bad (fix it)"
