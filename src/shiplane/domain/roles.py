"""Roles of API tokens and their ordering (docs/contracts.md).

Roles are strictly ordered: each role may do everything the roles below it may do.
Environment scoping (a token limited to some environments) is checked by the API,
because only the API knows which environment a request touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    PROMOTER = "promoter"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK: dict[Role, int] = {
    Role.VIEWER: 0,
    Role.PROMOTER: 1,
    Role.APPROVER: 2,
    Role.ADMIN: 3,
}


class UnknownRoleError(ValueError):
    """A role name that is not one of viewer, promoter, approver, admin."""


def parse_role(value: str | Role) -> Role:
    """Return the Role for `value`, accepting any letter case; raise UnknownRoleError."""
    if isinstance(value, Role):
        return value
    try:
        return Role(value.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise UnknownRoleError(f"unknown role {value!r}; expected one of: {valid}") from None


def role_allows(role: Role | str, needed: Role | str) -> bool:
    """True when a token with `role` may perform an action that needs `needed`."""
    return parse_role(role).rank >= parse_role(needed).rank


def role_refusal(name: str, role: Role | str, needed: Role | str) -> str | None:
    """Why the token `name` with `role` may not do what needs `needed` (None: it may).
    The one wording of a role refusal, for the API's 403 and a disabled button alike."""
    if role_allows(role, needed):
        return None
    return (
        f"token '{name}' has role '{parse_role(role).value}'; "
        f"this call needs '{parse_role(needed).value}' or higher"
    )


def scope_refusal(name: str, scope: Sequence[str], environments: Iterable[str]) -> str | None:
    """Why a token scoped to `scope` (empty: every environment) may not touch
    `environments` (None: it may)."""
    outside = sorted(e for e in set(environments) if scope and e not in scope)
    if not outside:
        return None
    return (
        f"token '{name}' is scoped to environments [{', '.join(scope)}] and does not "
        f"cover {', '.join(repr(e) for e in outside)}"
    )


def environment_role_refusal(name: str, role: Role | str, needed: Role | str, env: str) -> str:
    """Why `name`, whose role in `env` is `role`, may not do there what needs `needed`
    (single sign-on maps groups to a role per environment, docs/sso.md)."""
    return (
        f"'{name}' has role '{parse_role(role).value}' in {env}; "
        f"this needs '{parse_role(needed).value}' or higher there"
    )
