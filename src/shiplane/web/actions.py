"""What the UI's actions share: a form body validated by the API's own request model
(so a bad field gets the API's words), and an engine request whose refusal becomes a
message beside the form instead of an error page. Nothing here decides policy: the
checks are the API route functions' and the engine's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shiplane.api.auth import check_role
from shiplane.api.context import ApiContext
from shiplane.api.engine import require_engine
from shiplane.api.problems import ProblemError, status_of, validation_detail
from shiplane.domain.errors import ShiplaneError
from shiplane.domain.roles import Role
from shiplane.engine.service import Engine
from shiplane.web.auth import WebUser

ModelT = TypeVar("ModelT", bound=BaseModel)


class ActionRefused(Exception):
    """An action refused before or by the engine; `field` is the form field to show the
    message beside (None: the form as a whole)."""

    def __init__(self, message: str, status: int, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def body_of(model: type[ModelT], form: Mapping[str, str], fields: tuple[str, ...]) -> ModelT:
    """The API's request body from the form's `fields`; its validation errors, worded as
    the API words them (`body.reason: ...`), refuse the action beside the first field."""
    try:
        return model.model_validate({name: form.get(name, "") for name in fields})
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        located = [{**e, "loc": ("body", *e.get("loc", ()))} for e in errors]
        first = errors[0].get("loc", ()) if errors else ()
        field = str(first[0]) if first else None
        raise ActionRefused(validation_detail(located), 422, field) from None


def require_role_for(user: WebUser, needed: Role) -> None:
    """The API's role check (403 with its words)."""
    try:
        check_role(user.principal, needed)
    except ProblemError as exc:
        raise ActionRefused(exc.detail, exc.status) from None


async def attempt(call: Callable[[], Awaitable[Any]]) -> Any:
    """Run the API's route function or engine request; a problem or a Shiplane error
    becomes an ActionRefused with the same message the API would send."""
    try:
        return await call()
    except ProblemError as exc:
        raise ActionRefused(exc.detail, exc.status) from None
    except ShiplaneError as exc:
        raise ActionRefused(str(exc), status_of(exc)) from None


def engine_of(context: ApiContext) -> Engine:
    """The engine, as the API's `require_engine` finds it (409 without a repository)."""
    try:
        return require_engine(context)
    except ProblemError as exc:
        raise ActionRefused(exc.detail, exc.status) from None
