"""A principal whose role differs per environment (single sign-on): routes demand the
highest role, calls on an environment the role there, and the engine's action checks
say the same words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shiplane.api.auth import Principal
from shiplane.api.problems import ProblemError
from shiplane.domain.roles import Role
from shiplane.store import tokens
from tests.unit.api.apphelpers import api_app, project

ALICE = Principal(
    token_id="tok-1",
    name="alice",
    role=Role.APPROVER,
    environments=(),
    groups=("shop", "shop:release-managers"),
    environment_roles=(("*", Role.VIEWER), ("prod", Role.APPROVER)),
)


def test_the_role_in_each_environment() -> None:
    assert ALICE.role_in("prod") == Role.APPROVER
    assert ALICE.role_in("staging") == Role.VIEWER
    caller = ALICE.caller()
    assert caller.role_in("prod") == Role.APPROVER and caller.role_in("dev") == Role.VIEWER


def test_require_environments_with_a_needed_role() -> None:
    ALICE.require_environments(["prod"], Role.APPROVER)
    ALICE.require_environments(["staging"])  # reading needs only the scope
    with pytest.raises(ProblemError) as refused:
        ALICE.require_environments(["prod", "staging"], Role.PROMOTER)
    assert refused.value.status == 403
    assert refused.value.detail == (
        "'alice' has role 'viewer' in staging; this needs 'promoter' or higher there"
    )


def test_a_token_without_environment_roles_is_unchanged() -> None:
    ci = Principal("tok-2", "ci", Role.PROMOTER, ("dev",))
    assert ci.role_in("dev") == Role.PROMOTER
    ci.require_environments(["dev"], Role.PROMOTER)
    with pytest.raises(ProblemError, match="scoped to environments"):
        ci.require_environments(["prod"], Role.VIEWER)


def test_an_admin_in_prod_only_creates_tokens_only_for_prod(tmp_path: Path) -> None:
    with api_app(tmp_path, project()) as api, api.database.session() as s:
        _record, plaintext = tokens.create_token(
            s, name="erin", role=Role.ADMIN, environments=(), created_by="sso",
            sso=tokens.SsoGrant("https://idp#7", (("*", Role.VIEWER), ("prod", Role.ADMIN)),
                                timedelta(hours=1)),
        )  # fmt: skip
    with api_app(tmp_path, project()) as api:
        headers = {"Authorization": f"Bearer {plaintext}"}
        everywhere = api.client.post("/api/v1/tokens", json={"role": "admin"}, headers=headers)
        staging = api.client.post(
            "/api/v1/tokens", json={"role": "viewer", "environments": ["staging"]}, headers=headers
        )
        prod = api.client.post(
            "/api/v1/tokens", json={"role": "promoter", "environments": ["prod"]}, headers=headers
        )
    assert everywhere.status_code == 403 and "admin only in some" in everywhere.json()["detail"]
    assert staging.status_code == 403
    assert "has role 'viewer' in staging" in staging.json()["detail"]
    assert prod.status_code == 201
