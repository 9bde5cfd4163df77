"""`shiplane cluster add`'s objects (pure): only namespace-scoped grants, only the verbs
Shiplane uses, everything labelled so `remove` finds it again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shiplane.kube import registration
from shiplane.kube.access import expired_reason, probe
from shiplane.kube.connection import connect
from shiplane.kube.permissions import REQUIRED_VERBS, missing


def test_the_role_grants_only_shiplanes_verbs_in_one_namespace() -> None:
    role = registration.role("prod", "shop")
    assert role["kind"] == "Role"  # never a ClusterRole
    assert role["metadata"]["namespace"] == "shop"
    verbs = list(REQUIRED_VERBS)
    assert role["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": verbs}]
    assert "escalate" not in REQUIRED_VERBS and "bind" not in REQUIRED_VERBS
    assert "deletecollection" not in REQUIRED_VERBS and "impersonate" not in REQUIRED_VERBS
    assert missing(role["rules"]) == []  # what readiness checks is what add grants


def test_the_binding_names_the_registration_account() -> None:
    binding = registration.role_binding("prod", "shop", "shiplane-system")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "shiplane-prod",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "shiplane-prod", "namespace": "shiplane-system"}
    ]
    for obj in (binding, registration.role("prod", "shop")):
        assert obj["metadata"]["labels"][registration.REGISTRATION_LABEL] == "prod"


def test_the_account_records_granted_and_created_namespaces() -> None:
    account = registration.service_account("prod", ["a", "b"], ["b"], "shiplane-system")
    notes = account["metadata"]["annotations"]
    assert notes[registration.GRANTED_NAMESPACES] == "a,b"
    assert notes[registration.CREATED_NAMESPACES] == "b"


def test_the_kubeconfig_holds_only_the_token() -> None:
    config = registration.kubeconfig("prod", "https://api:6443", "Q0E=", "tok", "shop")
    assert config["users"] == [{"name": "shiplane-prod", "user": {"token": "tok"}}]
    assert config["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    assert config["contexts"][0]["context"]["namespace"] == "shop"


@pytest.mark.parametrize("bad", ["Prod", "a_b", "-x", "x" * 53, ""])
def test_names_must_fit_a_service_account_name(bad: str) -> None:
    with pytest.raises(registration.RegistrationError, match="not a usable cluster name"):
        registration.check_name(bad)


def test_an_expired_token_is_named() -> None:
    now = datetime(2030, 1, 2, tzinfo=UTC)
    assert expired_reason("2030-01-01T00:00:00Z", now) == (
        "credentials expired at 2030-01-01T00:00:00Z; renew them (`shiplane cluster add`)"
    )
    assert expired_reason("2031-01-01T00:00:00Z", now) is None
    assert expired_reason(None, now) is None


@pytest.mark.anyio
async def test_a_probe_never_raises_and_names_an_expiry(tmp_path: Path) -> None:
    config = tmp_path / "gone.kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', "
        "insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    client = connect(config)
    try:
        found = await probe(client, ["shop"], token_expires="2020-01-01T00:00:00Z", timeout=5)
    finally:
        await client.close()
    assert not found.reachable and not found.ok
    assert found.reason is not None and found.reason.startswith("unreachable: ConnectError")
    assert found.reason.endswith("credentials expired at 2020-01-01T00:00:00Z; renew them "
                                 "(`shiplane cluster add`)")  # fmt: skip
