"""Single sign-on for the CLI (`shiplane login --sso`, docs/sso.md).

`GET /sso` tells a CLI where to send the person (the provider's authorization endpoint,
this server's client id and scopes); the CLI runs the code flow with PKCE against a
loopback redirect and hands the code, its PKCE verifier and nonce to `POST /sso/token`.
The server, which alone holds the client secret, exchanges the code, validates the ID
token and answers a short-lived API token for that person (stored hashed like every
token, scoped by the group mapping). Both are unauthenticated: the code is the credential.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.api.sso import CLI_CREATOR, SsoService, sso_of
from shiplane.domain.errors import InvalidError
from shiplane.domain.roles import Role

router = APIRouter(prefix=API_PREFIX, tags=["sso"])

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class SsoInfo(BaseModel):
    issuer: str
    authorization_endpoint: str
    client_id: str
    scopes: list[str]
    cli_port: int | None = None


class SsoTokenRequest(BaseModel):
    code: str = Field(min_length=1, max_length=2048)
    redirect_uri: str = Field(min_length=1, max_length=300)
    code_verifier: str = Field(min_length=43, max_length=128)
    nonce: str = Field(min_length=8, max_length=200)


class SsoTokenOut(BaseModel):
    token: str
    name: str
    role: Role
    environments: list[str]
    environment_roles: dict[str, Role]
    expires_at: datetime | None


def _service(context: ApiContext) -> SsoService:
    service = sso_of(context)
    if service is None:
        raise ProblemError(404, "single sign-on is not configured (sso in shiplane.yaml)")
    return service


@router.get(
    "/sso",
    summary="Where a CLI sends a person to sign in (single sign-on); no token needed",
    responses=problem_openapi_responses(404, 502, 503),
)
async def sso_info(context: ApiContext = Depends(get_context)) -> SsoInfo:
    service = _service(context)
    metadata = await run_in_threadpool(service.client.metadata)
    return SsoInfo(
        issuer=metadata.issuer,
        authorization_endpoint=metadata.authorization_endpoint,
        client_id=service.config.client_id,
        scopes=list(service.config.scopes),
        cli_port=service.config.cli_port,
    )


def _loopback(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidError(
            "redirect_uri must be a loopback address (http://127.0.0.1:PORT/...): the "
            "CLI's own listener",
            details={"field": "body.redirect_uri"},
        )
    return uri


@router.post(
    "/sso/token",
    summary="Exchange a CLI's authorization code for a short-lived API token (single sign-on)",
    responses=problem_openapi_responses(403, 404, 422, 502, 503),
)
async def sso_token(
    body: SsoTokenRequest, context: ApiContext = Depends(get_context)
) -> SsoTokenOut:
    service = _service(context)
    signed_in = await run_in_threadpool(
        lambda: service.sign_in(
            context.database,
            code=body.code,
            redirect_uri=_loopback(body.redirect_uri),
            verifier=body.code_verifier,
            nonce=body.nonce,
            lifetime=timedelta(seconds=service.config.cli_token_lifetime),
            created_by=CLI_CREATOR,
        )
    )
    record = signed_in.record
    return SsoTokenOut(
        token=signed_in.token,
        name=record.name,
        role=record.role,
        environments=record.environments,
        environment_roles=record.environment_roles,
        expires_at=record.expires_at,
    )
