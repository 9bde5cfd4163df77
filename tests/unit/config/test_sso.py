"""`sso` in shiplane.yaml: the client secret only by reference, mappings that name
defined environments and known roles, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config import ConfigError, SecretNotSetError, load_project_text
from shiplane.domain.roles import Role
from tests.support.api_project import PROJECT_YAML

SSO = """sso:
  issuer: https://gitea.example
  clientId: shiplane
  clientSecretEnv: SSO_SECRET
  roles:
"""


def problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_project_text(PROJECT_YAML + extra)
    return [f"{p.line}:{p.field}: {p.message}" for p in error.value.problems]


def test_sso_loads_with_its_defaults_and_mappings() -> None:
    project = load_project_text(
        PROJECT_YAML + SSO + "    - {group: 'shop:release-managers', role: approver, "
        "environments: [prod]}\n    - {group: shop, role: viewer}\n"
    )
    sso = project.sso
    assert sso is not None
    assert sso.scopes == ("openid", "profile", "email", "groups")
    assert sso.groups_claim == "groups" and sso.username_claim == "preferred_username"
    assert sso.cli_token_lifetime == 12 * 3600
    assert [(m.group, m.role, m.environments) for m in sso.roles] == [
        ("shop:release-managers", Role.APPROVER, ("prod",)),
        ("shop", Role.VIEWER, ()),
    ]


def test_a_mapping_naming_an_unknown_environment_is_refused_where_it_is() -> None:
    found = problems(SSO + "    - {group: g, role: approver, environments: [prd]}\n")
    assert len(found) == 1
    line = PROJECT_YAML.count("\n") + 6
    assert found[0].startswith(f"{line}:sso.roles[0].environments[0]: environment 'prd'")
    assert "did you mean 'prod'?" in found[0]


def test_a_mapping_naming_an_unknown_role_is_refused_where_it_is() -> None:
    found = problems(SSO + "    - {group: g, role: releaser}\n")
    assert len(found) == 1 and "sso.roles[0].role" in found[0]
    assert "approver" in found[0]


def test_the_client_secret_is_never_in_the_file() -> None:
    inline = problems(
        SSO.replace("clientSecretEnv: SSO_SECRET", "clientSecret: hunter2hunter2") + "    []\n"
    )
    assert any("never written in shiplane.yaml" in f for f in inline)
    assert not any("hunter2" in f for f in inline)
    neither = problems(SSO.replace("  clientSecretEnv: SSO_SECRET\n", "") + "    []\n")
    assert any("exactly one of 'clientSecretEnv'" in f for f in neither)


def test_openid_scope_and_an_http_issuer_are_required() -> None:
    assert any("'openid'" in f for f in problems(SSO + "    []\n  scopes: [profile]\n"))
    assert any("http(s) URL" in f for f in problems(SSO.replace("https://", "ftp://") + "    []\n"))


def test_the_secret_comes_from_the_variable_or_the_file(tmp_path: Path) -> None:
    project = load_project_text(PROJECT_YAML + SSO + "    []\n")
    assert project.sso is not None
    assert project.sso.client_secret({"SSO_SECRET": "s3cret"}) == "s3cret"
    with pytest.raises(SecretNotSetError, match="SSO_SECRET"):
        project.sso.client_secret({})
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    text = SSO.replace("clientSecretEnv: SSO_SECRET", f"clientSecretFile: {secret}")
    from_file = load_project_text(PROJECT_YAML + text + "    []\n").sso
    assert from_file is not None and from_file.client_secret() == "from-file"
