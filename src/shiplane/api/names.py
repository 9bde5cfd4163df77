"""Names in requests checked against the loaded project: environments, apps, groups, states.

A filter with a typo (`?environment=stagin`) would otherwise answer an empty list, which
reads as "nothing happened there" — the worst answer a promotion tool can give. Every
field that names something is checked here and refused with what is defined and the
nearest match. Echoed input is cut short (`bounded`) so an error body never carries an
unbounded value back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from shiplane.domain.errors import InvalidError
from shiplane.domain.suggest import closest

if TYPE_CHECKING:
    from shiplane.config.models import ProjectConfig

ECHO_LIMIT = 64
_SHOWN = 10
E = TypeVar("E", bound=StrEnum)


class UnknownValueError(InvalidError):
    """A request field names something the project (or the API) does not know."""


def bounded(value: str, limit: int = ECHO_LIMIT) -> str:
    """`value` quoted, cut to `limit` characters: safe to put in an error message."""
    if len(value) <= limit:
        return repr(value)
    return repr(value[: limit - 3] + "...") + f" ({len(value)} characters)"


def refuse(field: str, kind: str, value: str, allowed: Sequence[str]) -> UnknownValueError:
    match = closest(value, allowed) if len(value) <= 2 * ECHO_LIMIT else None
    if match is not None:
        hint = f"did you mean '{match}'?"
    elif allowed:
        hint = f"allowed: {', '.join(allowed[:_SHOWN])}" + (
            ", ..." if len(allowed) > _SHOWN else ""
        )
    else:
        hint = f"no {kind}s are defined"
    return UnknownValueError(
        f"{field}: {kind} {bounded(value)} is not defined",
        hint=hint,
        details={"field": field, "allowed": list(allowed[:_SHOWN])},
    )


def project_groups(project: ProjectConfig) -> list[str]:
    """Groups that some approval policy names (in file order, once each)."""
    groups: dict[str, None] = {}
    for environment in project.environments.values():
        if environment.approvals is not None:
            groups.update(dict.fromkeys(environment.approvals.groups))
    return list(groups)


def check_names(
    project: ProjectConfig | None,
    *,
    environments: Iterable[str | None] = (),
    apps: Iterable[str | None] = (),
    groups: Iterable[str] = (),
    field: str,
) -> None:
    """Refuse any name the loaded project does not define (no project: nothing to check).

    `field` names where the values came from (`query.environment`, `body.groups`)."""
    if project is None:
        return
    defined_environments = project.environment_order()
    for name in environments:
        if name is not None and name not in project.environments:
            raise refuse(field, "environment", name, defined_environments)
    for name in apps:
        if name is not None and name not in project.apps:
            raise refuse(field, "app", name, list(project.apps))
    defined_groups = project_groups(project)
    for name in groups:
        if name not in defined_groups:
            raise refuse(field, "group", name, defined_groups)


def parse_choice(enum: type[E], value: str | None, field: str, kind: str) -> E | None:
    """`value` as a member of `enum`, ignoring case (`failed` is `Failed`); refused with
    the allowed values and the nearest one otherwise."""
    if value is None:
        return None
    by_lower = {member.value.lower(): member for member in enum}
    member = by_lower.get(value.lower())
    if member is None:
        raise refuse(field, kind, value, [m.value for m in enum])
    return member
