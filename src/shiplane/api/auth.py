"""Bearer-token authentication and role / environment-scope authorisation.

Tokens are verified by the store (only hashes are stored there). A missing or unknown
token is 401 with `WWW-Authenticate: Bearer`; a known token whose role or environment
scope does not cover the request is 403. The token itself is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import ProblemError
from shiplane.domain.roles import (
    Role,
    environment_role_refusal,
    role_allows,
    role_refusal,
    scope_refusal,
)
from shiplane.domain.sso_access import role_in
from shiplane.engine.promotions.model import Actor
from shiplane.engine.promotions.permissions import Caller
from shiplane.store import tokens as token_store
from shiplane.store.records import TokenRecord

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token: `Authorization: Bearer <token>` (see `shiplane token create`).",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (the audit actor), role and environment scope.

    A token minted by single sign-on may hold a lower role in some environments than its
    highest `role` (`environment_roles`, docs/sso.md): routes demand the highest, and
    `require_environments(..., needed)` the role in each environment touched.
    """

    token_id: str
    name: str
    role: Role
    # Empty means every environment.
    environments: tuple[str, ...]
    groups: tuple[str, ...] = ()
    environment_roles: tuple[tuple[str, Role], ...] = ()

    def covers(self, environment: str) -> bool:
        return not self.environments or environment in self.environments

    def role_in(self, environment: str) -> Role:
        return role_in(self.role, self.environment_roles, environment)

    def require_environments(self, environments: Iterable[str], needed: Role | None = None) -> None:
        """403 unless the scope covers every one of `environments` (and, with `needed`,
        the role in each is at least that)."""
        wanted = list(environments)
        refusal = scope_refusal(self.name, self.environments, wanted)
        if refusal is None and needed is not None:
            refusal = next(
                (
                    environment_role_refusal(self.name, self.role_in(env), needed, env)
                    for env in wanted
                    if not role_allows(self.role_in(env), needed)
                ),
                None,
            )
        if refusal is not None:
            raise ProblemError(403, refusal)

    @property
    def unscoped(self) -> bool:
        return not self.environments

    def caller(self) -> Caller:
        """Who calls, as the engine's permission checks see it: the token's name (the
        audit actor) and groups, its role and its environment scope."""
        return Caller(
            Actor(self.name, self.groups), self.role, self.environments, self.environment_roles
        )


def _unauthorized(detail: str, error: str | None = None) -> ProblemError:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return ProblemError(401, detail, headers={"WWW-Authenticate": challenge})


def authenticate(
    credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
    context: ApiContext = Depends(get_context),
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    if credentials.scheme.lower() != "bearer":
        raise _unauthorized("only bearer tokens are accepted", "invalid_request")
    # Read-only first: on SQLite a write transaction would take the database lock on
    # every request; last_used_at is written at most once a minute, separately.
    with context.database.session(readonly=True) as session:
        record = token_store.authenticate(session, credentials.credentials, touch=False)
    if record is None:
        raise _unauthorized("the token is unknown, revoked or expired", "invalid_token")
    if token_store.needs_touch(record.last_used_at, datetime.now(UTC)):
        with context.database.session() as session:
            token_store.mark_used(session, str(record.id))
    return principal_of(record)


def principal_of(record: TokenRecord) -> Principal:
    """The caller a verified token stands for (the web UI's sessions use it too)."""
    return Principal(
        token_id=str(record.id),
        name=record.name,
        role=Role(record.role),
        environments=tuple(record.environments),
        groups=tuple(record.groups),
        environment_roles=tuple(sorted(record.environment_roles.items())),
    )


def check_role(principal: Principal, needed: Role) -> None:
    """403 unless the principal's role is at least `needed` (the API's and the web UI's
    one rule)."""
    refusal = role_refusal(principal.name, principal.role, needed)
    if refusal is not None:
        raise ProblemError(403, refusal)


def require_role(needed: Role) -> Callable[[Principal], Principal]:
    """A dependency that authenticates and then demands at least `needed`."""

    def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        check_role(principal, needed)
        return principal

    return dependency
