"""Bad values fail at `helm template` (and so at `helm install`, tested against a cluster
in test_install.py) with a message that names the value: values.schema.json for types,
shapes and unknown keys; the templates for combinations (two replicas on SQLite)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chart.chart import Helm

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "two replicas on sqlite",
        {"replicaCount": 2},
        "replicaCount is 2 but database.type is sqlite: SQLite allows one server",
    ),
    (
        "postgresql without a database secret",
        {"database": {"type": "postgresql"}},
        "database.type is postgresql but no connection is given: set "
        "database.postgresql.existingSecret",
    ),
    (
        "postgresql with a secret and a url",
        {
            "database": {
                "type": "postgresql",
                "postgresql": {"existingSecret": "db", "url": "postgresql://h/d"},
            }
        },
        "either database.postgresql.existingSecret or database.postgresql.url, not both",
    ),
    ("image tag not a string", {"image": {"tag": 1.5}}, "at '/image/tag': got number, want string"),
    ("image digest malformed", {"image": {"digest": "sha256:abc"}}, "at '/image/digest'"),
    (
        "unknown database",
        {"database": {"type": "mysql"}},
        "at '/database/type': value must be one of 'sqlite', 'postgresql'",
    ),
    ("replicas misspelt", {"replicas": 3}, "additional properties 'replicas' not allowed"),
    ("negative replicas", {"replicaCount": -1}, "at '/replicaCount'"),
    ("replicas as text", {"replicaCount": "two"}, "at '/replicaCount': got string, want integer"),
    (
        "short bootstrap token",
        {"bootstrapToken": {"value": "short"}},
        "bootstrapToken.value must be at least 24 characters",
    ),
    ("rbac scope", {"rbac": {"scope": "everything"}}, "at '/rbac/scope'"),
    (
        "kubeconfig secret without the cluster's name",
        {"clusters": {"kubeconfigSecrets": [{"secretName": "shiplane-cluster-prod"}]}},
        "at '/clusters/kubeconfigSecrets/0': missing property 'name'",
    ),
    (
        "cluster named twice",
        {
            "clusters": {
                "kubeconfigSecrets": [
                    {"name": "p", "secretName": "a"},
                    {"name": "p", "secretName": "b"},
                ]
            }
        },
        'names the cluster "p" twice',
    ),
    (
        "git username without password",
        {"gitops": {"repo": "https://g/r.git", "credentials": {"username": "bot"}}},
        "gitops.credentials needs both username and password",
    ),
    (
        "https and ssh credentials at once",
        {
            "gitops": {
                "repo": "ssh://git@g/r.git",
                "credentials": {"existingSecret": "a"},
                "ssh": {"existingSecret": "b"},
            }
        },
        "give gitops.credentials (HTTPS) or gitops.ssh (SSH), not both",
    ),
    (
        "credentials without a repository",
        {"gitops": {"ssh": {"existingSecret": "b"}}},
        "GitOps credentials are set but gitops.repo is empty",
    ),
    (
        "disruption budget of every replica",
        {"podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
        "podDisruptionBudget.minAvailable 1 with replicaCount 1 would block every node drain",
    ),
    (
        "public url with a trailing slash",
        {"publicUrl": "https://shiplane.example/"},
        "at '/publicUrl'",
    ),
    (
        "ingress path type",
        {
            "ingress": {
                "enabled": True,
                "hosts": [{"host": "h", "paths": [{"path": "/", "pathType": "Any"}]}],
            }
        },
        "pathType",
    ),
    (
        "sso variable name",
        {"sso": {"clientSecret": {"envName": "lower-case"}}},
        "at '/sso/clientSecret/envName'",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"), [(v, m) for _, v, m in REFUSED], ids=[n for n, _, _ in REFUSED]
)
def test_refused(helm: Helm, values: dict[str, Any], message: str) -> None:
    result = helm.template(values=values)
    assert result.returncode != 0, f"accepted: {values}"
    assert message in result.stderr, result.stderr


def test_two_replicas_on_postgresql_accepted(helm: Helm) -> None:
    values = {
        "replicaCount": 2,
        "database": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
    }
    assert helm.template(values=values).returncode == 0
