"""What a person signed in through single sign-on may do: their provider groups mapped
to a role per environment (`sso.roles` in shiplane.yaml, docs/sso.md). Pure logic.

Each mapping grants a role in some environments (none listed: every environment). A
person in several groups gets, in each environment, the highest role any of their
groups grants there. The result has the shape API tokens have (a role and an
environment scope) plus the environments where the role is lower than that highest
one, so the same checks serve both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shiplane.domain.roles import Role

# The key of `environment_roles` for every environment not named there.
EVERY_ENVIRONMENT = "*"


@dataclass(frozen=True, slots=True)
class GroupGrant:
    """One mapping: members of `group` get `role` in `environments` (empty: all)."""

    group: str
    role: Role
    environments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SsoAccess:
    """The role and scope a person gets: `role` is the highest (routes demand at least
    theirs), `environments` the scope (empty: every environment), and
    `environment_roles` the role in the environments where it may be lower than `role`
    (key `*`: every environment not named)."""

    role: Role
    environments: tuple[str, ...]
    environment_roles: tuple[tuple[str, Role], ...]
    groups: tuple[str, ...]


def _highest(roles: Iterable[Role]) -> Role | None:
    return max(roles, key=lambda r: r.rank, default=None)


def access_for(groups: Iterable[str], grants: Iterable[GroupGrant]) -> SsoAccess | None:
    """The access of a person in `groups`; None when no mapping names any of them."""
    member_of = set(groups)
    matched = [g for g in grants if g.group in member_of]
    if not matched:
        return None
    everywhere = _highest(g.role for g in matched if not g.environments)
    named: dict[str, Role] = {}
    for grant in matched:
        for env in grant.environments:
            best = _highest(r for r in (named.get(env), grant.role, everywhere) if r is not None)
            assert best is not None
            named[env] = best
    top = _highest([*named.values(), *([everywhere] if everywhere else [])])
    assert top is not None
    lower = sorted((env, role) for env, role in named.items() if role != top)
    if everywhere is not None and everywhere != top:
        # Every other environment is lower now, so the named ones are all listed.
        lower = [(EVERY_ENVIRONMENT, everywhere), *sorted(named.items())]
    scope = () if everywhere is not None else tuple(sorted(named))
    return SsoAccess(top, scope, tuple(lower), tuple(sorted(member_of)))


def role_in(
    role: Role, environment_roles: Mapping[str, Role] | Iterable[tuple[str, Role]], env: str
) -> Role:
    """The role in `env` of someone whose highest role is `role`."""
    lower = dict(environment_roles)
    return lower.get(env) or lower.get(EVERY_ENVIRONMENT) or role


def groups_of(claim: object) -> tuple[str, ...]:
    """The groups an ID token's claim lists (a list of strings, or one string)."""
    if isinstance(claim, str):
        return (claim,)
    if isinstance(claim, list | tuple):
        return tuple(str(g) for g in claim if isinstance(g, str | int))
    return ()


__all__ = ["EVERY_ENVIRONMENT", "GroupGrant", "SsoAccess", "access_for", "groups_of", "role_in"]
