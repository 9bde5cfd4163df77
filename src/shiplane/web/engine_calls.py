"""Running an engine request from a form, as the API runs it: the same body models
(api/schemas_promotions.py), the same role and scope checks (api/auth.py), the same
engine call; a refusal comes back as a message for the field it concerns (and the
engine's status), never as a half-done change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shiplane.api.auth import check_role
from shiplane.api.context import ApiContext
from shiplane.api.engine import NO_ENGINE
from shiplane.api.problems import ProblemError, status_of, validation_detail
from shiplane.domain.errors import NotFoundError, ShiplaneError
from shiplane.domain.roles import Role
from shiplane.engine.service import Engine
from shiplane.web.auth import WebUser

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class Refusal(Exception):
    """Why a form's request changed nothing: per field (`""` for the form as a whole)."""

    def __init__(self, status: int, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.status = status
        self.errors = dict(errors)

    def first(self) -> tuple[str, str]:
        """The first (field, message): forms that show one message at a time."""
        return next(iter(self.errors.items()), ("", str(self)))


def engine_of(context: ApiContext) -> Engine:
    engine = context.engine
    if not isinstance(engine, Engine):
        raise Refusal(409, {"": NO_ENGINE})
    return engine


def parse_body(model: type[M], fields: Mapping[str, Any]) -> M:
    """The API's body model over the form's fields; its errors per field, in the API's
    exact words (`body.reason: String should have at least 1 character`)."""
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_input=False):
            name = ".".join(str(p) for p in error.get("loc", ())) or ""
            located = {**error, "loc": ("body", *error.get("loc", ()))}
            errors.setdefault(name, validation_detail([located]))
        raise Refusal(422, errors) from None


def form_fields(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The named fields of a posted form (missing ones empty, as a browser sends them)."""
    return {name: form.get(name, "") for name in names}


def permit(user: WebUser, needed: Role, environments: list[str]) -> None:
    """The API's role and scope checks for the request."""
    try:
        check_role(user.principal, needed)
        user.principal.require_environments(environments, needed)
    except ProblemError as exc:
        raise Refusal(exc.status, {"": exc.detail}) from None


async def run(
    call: Callable[[], Awaitable[T]], field: str = "", *, not_found: str | None = None
) -> T:
    """The engine call; a Shiplane error becomes a refusal with the API's status, beside
    `field` (a NotFoundError beside `not_found` when given: the name that was unknown)."""
    try:
        return await call()
    except NotFoundError as exc:
        where = not_found if not_found is not None else field
        raise Refusal(status_of(exc), {where: _named(where, exc.message)}) from None
    except ShiplaneError as exc:
        raise Refusal(status_of(exc), {field: _named(field, exc.message)}) from None
    except ProblemError as exc:
        raise Refusal(exc.status, {field: exc.detail}) from None


def _named(field: str, message: str) -> str:
    return f"{field}: {message}" if field else message


__all__ = ["NO_ENGINE", "Refusal", "engine_of", "form_fields", "parse_body", "permit", "run"]
