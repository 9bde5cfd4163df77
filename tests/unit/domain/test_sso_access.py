"""Provider groups mapped to a role per environment (domain/sso_access.py)."""

from __future__ import annotations

from shiplane.domain.roles import Role
from shiplane.domain.sso_access import GroupGrant, access_for, groups_of, role_in

GRANTS = (
    GroupGrant("shop", Role.VIEWER),
    GroupGrant("shop:developers", Role.PROMOTER, ("dev", "staging")),
    GroupGrant("shop:release-managers", Role.APPROVER, ("prod",)),
)


def test_no_matching_group_gives_no_access() -> None:
    assert access_for(["other", "shop-x"], GRANTS) is None
    assert access_for([], GRANTS) is None


def test_an_org_member_views_everywhere() -> None:
    access = access_for(["shop"], GRANTS)
    assert access is not None
    assert (access.role, access.environments, access.environment_roles) == (Role.VIEWER, (), ())


def test_release_managers_approve_in_prod_and_only_view_elsewhere() -> None:
    access = access_for(["shop", "shop:release-managers"], GRANTS)
    assert access is not None
    assert access.role == Role.APPROVER and access.environments == ()
    assert role_in(access.role, access.environment_roles, "prod") == Role.APPROVER
    assert role_in(access.role, access.environment_roles, "staging") == Role.VIEWER
    assert role_in(access.role, access.environment_roles, "new-env") == Role.VIEWER


def test_without_an_everywhere_grant_the_scope_is_the_named_environments() -> None:
    access = access_for(["shop:developers", "shop:release-managers"], GRANTS)
    assert access is not None
    assert access.role == Role.APPROVER
    assert access.environments == ("dev", "prod", "staging")
    assert dict(access.environment_roles) == {"dev": Role.PROMOTER, "staging": Role.PROMOTER}


def test_the_highest_grant_in_an_environment_wins() -> None:
    grants = (GroupGrant("a", Role.ADMIN), GroupGrant("b", Role.VIEWER, ("prod",)))
    access = access_for(["a", "b"], grants)
    assert access is not None
    assert access.role == Role.ADMIN and access.environment_roles == ()
    assert role_in(access.role, access.environment_roles, "prod") == Role.ADMIN


def test_groups_claim_shapes() -> None:
    assert groups_of(["a", "b:c"]) == ("a", "b:c")
    assert groups_of("solo") == ("solo",)
    assert groups_of(None) == () and groups_of({"a": 1}) == ()
