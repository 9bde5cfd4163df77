"""API tokens (admin only): create (plaintext shown once), list, revoke."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Path, Response

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.names import check_names
from shiplane.api.pagination import PageOut, PageParams, page_params
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.schemas import TokenCreate, TokenCreated, WhoAmI
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role
from shiplane.store import audit, tokens
from shiplane.store.id_prefixes import token_ids_with_prefix, unique_match
from shiplane.store.records import TokenRecord

router = APIRouter(prefix=API_PREFIX, tags=["tokens"])
_require_admin = require_role(Role.ADMIN)


@router.post(
    "/tokens",
    status_code=201,
    summary="Create a token; its plaintext is in this response only",
    responses=problem_openapi_responses(400, 401, 403, 409, 422),
)
def create_token(
    body: TokenCreate,
    response: Response,
    principal: Principal = Depends(_require_admin),
    context: ApiContext = Depends(get_context),
) -> TokenCreated:
    environments = sorted(set(body.environments))
    project = context.current_project
    check_names(project, environments=environments, field="body.environments")
    check_names(project, groups=body.groups, field="body.groups")
    # A scoped admin may only hand out access it has itself.
    if not principal.unscoped:
        if not environments:
            raise ProblemError(
                403,
                f"token '{principal.name}' is scoped to environments "
                f"[{', '.join(principal.environments)}]; it cannot create an unscoped token",
            )
        principal.require_environments(environments)
    # Someone who is admin only in some environments (single sign-on, docs/sso.md)
    # hands out tokens only there.
    if principal.environment_roles:
        if not environments:
            raise ProblemError(
                403,
                f"'{principal.name}' is admin only in some environments; it cannot create "
                "a token for every environment",
            )
        principal.require_environments(environments, Role.ADMIN)
    name = body.name or f"{body.role.value}-{secrets.token_hex(3)}"
    with context.database.session() as session:
        record, plaintext = tokens.create_token(
            session,
            name=name,
            role=body.role,
            environments=environments,
            created_by=principal.name,
            groups=body.groups,
        )
        audit.append_event(
            session,
            actor=principal.name,
            action="token.create",
            subject=record.id,
            details={
                "name": record.name,
                "role": record.role.value,
                "environments": environments,
                "groups": record.groups,
            },
        )
    context.metrics.audit_events.labels("token.create").inc()
    response.headers["Location"] = f"{API_PREFIX}/tokens/{record.id}"
    return TokenCreated(token=plaintext, record=record)


@router.get(
    "/tokens",
    summary="List tokens (never their secrets)",
    responses=problem_openapi_responses(401, 403, 422),
)
def list_tokens(
    page: PageParams = Depends(page_params),
    _principal: Principal = Depends(_require_admin),
    context: ApiContext = Depends(get_context),
) -> PageOut[TokenRecord]:
    with context.database.session(readonly=True) as session:
        records = list(tokens.list_tokens(session))
    return paginate_in_memory(records, page)


def paginate_in_memory(records: list[TokenRecord], page: PageParams) -> PageOut[TokenRecord]:
    """Tokens are few (people and CI jobs), so the page is cut from the full list; the
    cursor is the id of the last token on the previous page."""
    start = 0
    if page.cursor is not None:
        ids = [r.id for r in records]
        if page.cursor not in ids:
            raise ProblemError(
                422,
                "query.cursor: unknown cursor; pass the next_cursor of a previous page",
                title="Invalid request",
            )
        start = ids.index(page.cursor) + 1
    items = records[start : start + page.limit]
    more = start + page.limit < len(records)
    return PageOut[TokenRecord](items=items, next_cursor=items[-1].id if more and items else None)


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke a token",
    responses=problem_openapi_responses(401, 403, 404),
)
def revoke_token(
    token_id: str = Path(max_length=100),
    principal: Principal = Depends(_require_admin),
    context: ApiContext = Depends(get_context),
) -> TokenRecord:
    with context.database.session() as session:
        # A unique prefix, as tables show ids (git-style), stands for its token.
        matches = token_ids_with_prefix(session, token_id)
        resolved = unique_match(token_id, matches)
        if resolved is None:
            raise ProblemError(404, f"token id prefix {token_id[:40]!r} is ambiguous: "
                               f"{', '.join(matches)}; give more of it")  # fmt: skip
        token_id = resolved
        record = tokens.revoke_token(session, token_id)
        if record is None:
            raise ProblemError(404, f"no token with id {token_id!r}")
        audit.append_event(
            session,
            actor=principal.name,
            action="token.revoke",
            subject=record.id,
            details={"name": record.name, "role": record.role.value},
        )
    context.metrics.audit_events.labels("token.revoke").inc()
    return record


@router.get(
    "/whoami",
    summary="The calling token's name, role and environment scope",
    responses=problem_openapi_responses(401),
)
def whoami(principal: Principal = Depends(require_role(Role.VIEWER))) -> WhoAmI:
    return WhoAmI(
        name=principal.name,
        role=principal.role,
        environments=list(principal.environments),
        token_id=principal.token_id,
        environment_roles=dict(principal.environment_roles),
    )
