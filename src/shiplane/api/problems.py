"""RFC 9457 problem details: the one shape of every error the API returns.

Handlers here translate every way a request can fail (our own `ProblemError`, routing
404/405, request validation, unexpected exceptions) into `application/problem+json`
with a `detail` a person can act on, plus the request id so logs can be found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shiplane.domain.errors import (
    ConflictError,
    ExternalError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    ShiplaneError,
)
from shiplane.domain.suggest import closest

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://shiplane.dev/problems/"
# A problem body never carries unbounded input back: messages quote input shortened
# (`names.bounded`), and these caps are the last line for anything that slipped through.
DETAIL_LIMIT = 1000
INSTANCE_LIMIT = 200
EXTRA_TEXT_LIMIT = 200


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters marked as cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 20] + f"... ({len(text)} chars)"


def _bounded_extra(value: Any) -> Any:
    if isinstance(value, str):
        return cut(value, EXTRA_TEXT_LIMIT)
    if isinstance(value, list | tuple):
        return [_bounded_extra(v) for v in value[:50]]
    if isinstance(value, dict):
        return {k: _bounded_extra(v) for k, v in list(value.items())[:50]}
    return value


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class ProblemError(Exception):
    """Raised by routes and dependencies to end a request with a problem response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type_ = type_
        self.title = title
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def type_for(status: int) -> str:
    """A stable, readable problem type per status (`.../not-found`)."""
    slug = status_title(status).lower().replace(" ", "-").replace("'", "")
    return PROBLEM_TYPE_BASE + slug


def problem_body(
    *,
    status: int,
    detail: str,
    instance: str,
    request_id: str | None,
    type_: str | None = None,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_ or type_for(status),
        "title": title or status_title(status),
        "status": status,
        "detail": cut(detail, DETAIL_LIMIT),
        "instance": cut(instance, INSTANCE_LIMIT),
        "request_id": request_id,
    }
    body.update({k: _bounded_extra(v) for k, v in (extra or {}).items()})
    return body


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body = problem_body(
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        type_=type_,
        title=title,
        extra=extra,
    )
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _location(loc: Sequence[Any]) -> str:
    """`("body", "artifacts", "api")` -> `body.artifacts.api`; list indexes as `[0]`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "request"


def _suggestion(error: Mapping[str, Any]) -> str:
    """`; did you mean 'viewer'?` for a value outside a fixed set, when one is close."""
    value = error.get("input")
    expected = (error.get("ctx") or {}).get("expected")
    if error.get("type") not in ("enum", "literal_error") or not isinstance(value, str):
        return ""
    if not isinstance(expected, str) or len(value) > 100:
        return ""
    choices = re.findall(r"'([^']*)'", expected)
    match = closest(value, choices)
    return f"; did you mean '{match}'?" if match is not None else ""


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> str:
    """One readable sentence per validation error, naming the field."""
    parts = []
    for error in errors:
        where = _location(error.get("loc", ()))
        message = str(error.get("msg", "invalid value"))
        parts.append(f"{where}: {message}{_suggestion(error)}")
    return "; ".join(parts) or "the request is invalid"


def json_error_detail(errors: Sequence[Mapping[str, Any]]) -> str | None:
    """The detail of a body that is not JSON at all (a 400, not a field problem)."""
    for error in errors:
        if error.get("type") == "json_invalid":
            loc = list(error.get("loc", ()))
            where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            reason = str((error.get("ctx") or {}).get("error", "invalid JSON"))
            return f"body: not valid JSON{where} ({reason}); send a JSON object"
    return None


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """A JSON-safe, input-free summary (inputs may hold secrets, so they are dropped)."""
    return [
        {"field": _location(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors
    ]


# FastAPI's own wording for a body it cannot decode (for example invalid UTF-8).
_BODY_PARSE_ERROR = "There was an error parsing the body"

_ROUTING_DETAILS = {
    404: "no such endpoint: {method} {path}",
    405: "method {method} is not allowed on {path}",
}


async def _handle_problem(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status,
        exc.detail,
        type_=exc.type_,
        title=exc.title,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _handle_http(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    template = _ROUTING_DETAILS.get(exc.status_code)
    generic = exc.detail == status_title(exc.status_code)
    if template and generic:
        detail = template.format(method=request.method, path=cut(request.url.path, 100))
    elif exc.detail == _BODY_PARSE_ERROR:
        detail = "body: cannot be parsed; send UTF-8 JSON with Content-Type: application/json"
    else:
        detail = str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; list them all.
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    return problem_response(request, exc.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in getattr(request.app.state, "api_routes", ()):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _handle_validation(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    malformed = json_error_detail(errors)
    if malformed is not None:
        return problem_response(request, 400, malformed, title="Malformed request")
    return problem_response(
        request,
        422,
        validation_detail(errors),
        title="Invalid request",
        extra={"errors": validation_errors(errors)},
    )


# The one place a Shiplane error family becomes an HTTP status (most specific first).
_STATUS_OF_FAMILY: tuple[tuple[type[ShiplaneError], int], ...] = (
    (NotFoundError, 404),
    (InvalidError, 422),
    (ConflictError, 409),
    (ForbiddenError, 403),
    (ExternalError, 502),
)


def status_of(exc: ShiplaneError) -> int:
    """The HTTP status of a Shiplane error, by its family."""
    if isinstance(exc, ExternalError) and exc.retryable:
        return 503
    for family, status in _STATUS_OF_FAMILY:
        if isinstance(exc, family):
            return status
    return 500


async def _handle_shiplane(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ShiplaneError)
    extra: dict[str, Any] = dict(exc.details)
    if exc.hint:
        extra["hint"] = exc.hint
    status = status_of(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return problem_response(request, status, exc.message, headers=headers, extra=extra)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ShiplaneError, _handle_shiplane)
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(RequestValidationError, _handle_validation)


def problem_openapi_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem bodies for the given statuses."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": status_title(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }
