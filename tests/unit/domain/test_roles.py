from __future__ import annotations

import pytest

from shiplane.domain.roles import Role, UnknownRoleError, parse_role, role_allows

ORDER = [Role.VIEWER, Role.PROMOTER, Role.APPROVER, Role.ADMIN]


@pytest.mark.parametrize("have", ORDER)
@pytest.mark.parametrize("need", ORDER)
def test_role_order(have: Role, need: Role) -> None:
    assert role_allows(have, need) == (ORDER.index(have) >= ORDER.index(need))


def test_strings_accepted() -> None:
    assert role_allows("admin", "viewer")
    assert not role_allows("viewer", Role.PROMOTER)
    assert parse_role(" Approver ") is Role.APPROVER
    assert Role.ADMIN == "admin"


def test_unknown_role() -> None:
    with pytest.raises(UnknownRoleError, match=r"unknown role 'root'.*viewer, promoter"):
        parse_role("root")
