"""Signing a person in through single sign-on: the provider's ID token becomes a
Shiplane token for that person (docs/sso.md).

Both sign-in paths end here: the web UI (its session then stands for the token) and
`shiplane login --sso` (the CLI keeps the token). The token is an ordinary API token,
stored hashed, revocable and short-lived: its name is the person's name at the provider
(the audit actor and approver, so separation of duties holds whichever way they signed
in), its groups are the provider's, and its role per environment is what `sso.roles`
maps those groups to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from shiplane.api.oidc import OidcClient, SignInRefused, SsoUnavailable
from shiplane.domain.sso_access import GroupGrant, access_for, groups_of
from shiplane.store import audit
from shiplane.store import tokens as token_store
from shiplane.store.records import TokenRecord

if TYPE_CHECKING:
    from shiplane.api.context import ApiContext
    from shiplane.config.models import SsoConfig
    from shiplane.store.db import Database

log = structlog.get_logger(__name__)

WEB_CREATOR = "sso"
CLI_CREATOR = "sso-cli"
MAX_NAME = 200


@dataclass(frozen=True)
class SignedIn:
    """A completed sign-in: the token record and its plaintext (never stored)."""

    record: TokenRecord
    token: str


class SsoService:
    """The provider of one `sso` configuration (discovery and keys cached)."""

    def __init__(self, config: SsoConfig) -> None:
        self.config = config
        self.client = OidcClient(config.issuer, config.client_id, config.client_secret)

    @property
    def grants(self) -> tuple[GroupGrant, ...]:
        return tuple(GroupGrant(m.group, m.role, m.environments) for m in self.config.roles)

    def identity(self, claims: dict[str, Any]) -> str:
        name = claims.get(self.config.username_claim) or claims.get("sub")
        return str(name)[:MAX_NAME]

    def sign_in(
        self,
        database: Database,
        *,
        code: str,
        redirect_uri: str,
        verifier: str,
        nonce: str,
        lifetime: timedelta,
        created_by: str,
    ) -> SignedIn:
        """Exchange `code`, validate the ID token and mint the person's token;
        SignInRefused or SsoUnavailable (nothing is written then)."""
        id_token = self.client.exchange(code, redirect_uri, verifier)
        claims = self.client.verify_id_token(id_token, nonce)
        name = self.identity(claims)
        groups = groups_of(claims.get(self.config.groups_claim))
        access = access_for(groups, self.grants)
        if access is None:
            shown = ", ".join(groups) or "none"
            raise SignInRefused(
                f"{name} is in none of the groups sso.roles maps to a role (their groups: "
                f"{shown}); ask an admin to map one of them in shiplane.yaml"
            )
        grant = token_store.SsoGrant(
            subject=f"{claims['iss']}#{claims['sub']}",
            environment_roles=access.environment_roles,
            lifetime=lifetime,
        )
        with database.session() as s:
            record, plaintext = token_store.create_token(
                s,
                name=name,
                role=access.role,
                environments=access.environments,
                created_by=created_by,
                groups=access.groups,
                sso=grant,
            )
            audit.append_event(
                s,
                actor=name,
                action="sso.sign_in",
                subject=record.id,
                details={
                    "via": "cli" if created_by == CLI_CREATOR else "web",
                    "identity": grant.subject,
                    "role": access.role.value,
                    "environments": list(access.environments),
                    "environmentRoles": {e: r.value for e, r in access.environment_roles},
                    "groups": list(access.groups),
                },
            )
        log.info("sso.signed_in", actor=name, role=access.role.value, via=created_by)
        return SignedIn(record, plaintext)


def sso_of(context: ApiContext) -> SsoService | None:
    """The SSO service of the project in force, or None when `sso` is not configured.
    Kept on the app's context while its configuration is in force (the project may be
    followed from git: a changed `sso` section gets a new service)."""
    project = context.current_project
    config = project.sso if project is not None else None
    if config is None:
        return None
    found = context.sso_cache
    if not isinstance(found, SsoService) or found.config is not config:
        found = SsoService(config)
        context.sso_cache = found
    return found


def start_check(config: SsoConfig | None) -> str | None:
    """What keeps single sign-on from working, checked when the server starts (None:
    nothing found): the client secret missing, the provider unreachable or its discovery
    inconsistent. A wrong client secret shows only at the first sign-in (the provider
    judges it when a code is exchanged). Never fatal: API tokens keep working."""
    if config is None:
        return None
    try:
        config.client_secret()
    except ValueError as exc:
        return str(exc)
    try:
        SsoService(config).client.metadata()
    except SsoUnavailable as exc:
        return exc.message
    return None
