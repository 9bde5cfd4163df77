"""`helm lint` and `helm template` of charts/shiplane with the real helm: the defaults and
every documented option (charts/shiplane/ci/*-values.yaml), and what each renders."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from shiplane.config import load_project
from tests.integration.chart.chart import (
    CHART,
    REPO_ROOT,
    SCENARIOS,
    Helm,
    by_kind,
    container,
    env_of,
    one,
    values_file,
)


def test_every_documented_option_has_an_example() -> None:
    assert set(SCENARIOS) >= {
        "default",
        "sqlite",
        "postgresql",
        "postgresql-url",
        "full",
        "cluster-rbac",
    }
    install = (REPO_ROOT / "docs" / "install.md").read_text()
    for scenario in SCENARIOS[1:]:
        assert f"ci/{scenario}-values.yaml" in install, f"docs/install.md does not show {scenario}"


def test_every_value_is_documented() -> None:
    """Each top-level value of values.yaml, and each of its groups' keys, is named in
    docs/install.md (as `key`, `group.key`, or a key in an example)."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    install = (REPO_ROOT / "docs" / "install.md").read_text()
    missing = [key for key in values if f"`{key}" not in install and f"{key}." not in install]
    for group in ("database", "gitops", "config", "bootstrapToken", "ingress", "rbac"):
        for key in values[group]:
            named = (f"{group}.{key}", f"`{key}`", f" {key}:")
            if not any(form in install for form in named):
                missing.append(f"{group}.{key}")
    assert not missing, f"not in docs/install.md: {missing}"


def test_app_version_is_shiplanes_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_passes(helm: Helm, scenario: str) -> None:
    result = helm.run("lint", "--strict", str(CHART), *values_file(scenario)).ok()
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_hardened_pod(helm: Helm, scenario: str) -> None:
    objects = helm.render(scenario)
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    c = container(objects)
    security = c["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    # What must be writable is mounted: /tmp and the data directory (the git working copy).
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert {"emptyDir", "persistentVolumeClaim"} & volumes[mounts["/var/lib/shiplane"]].keys()
    assert env_of(objects)["HOME"] == "/tmp"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["resources"]["requests"]
    assert c["args"][0] == "serve" and "--listen=0.0.0.0:8080" in c["args"]
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]


def test_defaults_one_replica_on_sqlite_with_a_claim(helm: Helm) -> None:
    objects = helm.render()
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    claim = one(objects, "PersistentVolumeClaim")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    env = env_of(objects)
    assert "SHIPLANE_DATABASE_URL" not in env  # SQLite in the data directory
    assert env["SHIPLANE_HOME"] == "/var/lib/shiplane"
    assert env["SHIPLANE_IN_CLUSTER"] == "1"
    assert "SHIPLANE_REPO" not in env and "SHIPLANE_BOOTSTRAP_TOKEN" not in env
    assert container(objects)["image"] == "shiplane:0.1.0"
    service = one(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    kinds = {o["kind"] for o in objects}
    assert kinds == {"ServiceAccount", "PersistentVolumeClaim", "Service", "Deployment"}


def test_postgresql_replicas_from_an_existing_secret(helm: Helm) -> None:
    objects = helm.render("postgresql")
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert not by_kind(objects, "PersistentVolumeClaim")
    assert not by_kind(objects, "Secret")  # every Secret is an existing one
    env = env_of(objects)
    assert env["SHIPLANE_DATABASE_URL"] == ("secret", "shiplane-database", "url")
    assert env["SHIPLANE_GIT_USERNAME"] == ("secret", "shiplane-git", "user")
    assert env["SHIPLANE_GIT_PASSWORD"] == ("secret", "shiplane-git", "token")
    assert "GIT_SSH_COMMAND" not in env
    assert env["SHIPLANE_BOOTSTRAP_TOKEN"] == ("secret", "shiplane-bootstrap", "token")
    assert env["SHIPLANE_REPO"] == "https://git.example/shop/gitops.git"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["data"]


def test_postgresql_url_makes_the_secret_and_pulls_by_digest(helm: Helm) -> None:
    objects = helm.render("postgresql-url")
    secret = one(objects, "Secret")
    assert secret["stringData"] == {
        "url": "postgresql://shiplane:secret@postgres.db.svc:5432/shiplane"
    }
    assert env_of(objects)["SHIPLANE_DATABASE_URL"] == ("secret", secret["metadata"]["name"], "url")
    assert container(objects)["image"] == (
        "registry.example/shiplane@sha256:" + "0123456789abcdef" * 4
    )
    annotations = one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/secrets" in annotations


def test_sqlite_with_git_credentials_from_values(helm: Helm) -> None:
    objects = helm.render("sqlite")
    claim = one(objects, "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    secret = one(objects, "Secret")
    assert secret["stringData"] == {"username": "shiplane-bot", "password": "not-a-real-token"}
    env = env_of(objects)
    assert env["SHIPLANE_GIT_PASSWORD"] == ("secret", secret["metadata"]["name"], "password")
    assert env["SHIPLANE_GIT_POLL_SECONDS"] == "10"
    assert "--branch=main" in container(objects)["args"]


def test_full_options(helm: Helm, tmp_path: Path) -> None:
    objects = helm.render("full", namespace="platform")
    c = container(objects)
    env = env_of(objects)
    # shiplane.yaml from the ConfigMap, passed as --config, and a valid project.
    config_map = one(objects, "ConfigMap")
    text = config_map["data"]["shiplane.yaml"]
    path = tmp_path / "shiplane.yaml"
    path.write_text(text)
    project = load_project(path)
    assert project.clusters["home"].in_cluster is True
    assert project.sso is not None and project.sso.client_secret_env == "SHIPLANE_SSO_CLIENT_SECRET"
    assert "--config=/etc/shiplane/config/shiplane.yaml" in c["args"]
    assert "SHIPLANE_GIT_POLL_SECONDS" not in env  # a --config file is not followed
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/etc/shiplane/config"]["readOnly"] is True
    # The client secret in the variable shiplane.yaml's sso names; the others from Secrets
    # made from the values.
    secrets = {s["metadata"]["name"]: s["stringData"] for s in by_kind(objects, "Secret")}
    assert secrets == {
        "r-shiplane-git": {"username": "shiplane-bot", "password": "not-a-real-token"},
        "r-shiplane-bootstrap": {"token": "bootstrap-token-of-at-least-24-characters"},
        "r-shiplane-sso": {"client-secret": "not-a-real-client-secret"},
    }
    assert env["SHIPLANE_SSO_CLIENT_SECRET"] == ("secret", "r-shiplane-sso", "client-secret")
    assert env["SHIPLANE_DATABASE_URL"] == ("secret", "shiplane-database", "connection")
    # The public URL follows the Ingress's TLS host (the SSO redirect URI is under it).
    assert env["SHIPLANE_PUBLIC_URL"] == "https://shiplane.example"
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "shiplane-tls", "hosts": ["shiplane.example"]}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "r-shiplane", "port": {"name": "http"}}
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["platform"]}
    # The second cluster's kubeconfig Secret, where shiplane.yaml names it.
    assert mounts["/etc/shiplane/clusters/prod"]["readOnly"] is True
    volumes = {
        v["name"]: v for v in one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    }
    kubeconfig = volumes[mounts["/etc/shiplane/clusters/prod"]["name"]]["secret"]
    assert kubeconfig == {"secretName": "shiplane-cluster-prod", "defaultMode": 0o440}
    assert project.clusters["prod"].kubeconfig == "/etc/shiplane/clusters/prod/kubeconfig"
    # RBAC: a Role and RoleBinding in each managed namespace, nothing cluster-wide.
    roles = {r["metadata"]["namespace"]: r for r in by_kind(objects, "Role")}
    assert set(roles) == {"shop-dev", "shop-staging"}
    assert {b["metadata"]["namespace"] for b in by_kind(objects, "RoleBinding")} == set(roles)
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")
    subject = by_kind(objects, "RoleBinding")[0]["subjects"][0]
    assert subject == {"kind": "ServiceAccount", "name": "r-shiplane", "namespace": "platform"}
    annotations = one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert {"checksum/config", "checksum/secrets"} <= annotations.keys()
    budget = one(objects, "PodDisruptionBudget")["spec"]
    assert budget["minAvailable"] == 1
    assert (
        budget["selector"]["matchLabels"]
        == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    )


def test_cluster_scope_and_existing_objects(helm: Helm) -> None:
    objects = helm.render("cluster-rbac")
    assert not by_kind(objects, "Role") and not by_kind(objects, "Secret")
    assert not by_kind(objects, "ConfigMap")  # the existing one is mounted
    role = one(objects, "ClusterRole")
    namespaces = [r for r in role["rules"] if "namespaces" in r["resources"]]
    assert namespaces and "create" in namespaces[0]["verbs"]
    assert one(objects, "ClusterRoleBinding")["roleRef"]["name"] == role["metadata"]["name"]
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "shiplane-project"
    env = env_of(objects)
    # git over ssh: the key and known_hosts from the Secret, the host checked.
    assert "SHIPLANE_GIT_USERNAME" not in env
    assert env["GIT_SSH_COMMAND"] == (
        "ssh -i /etc/shiplane/git-ssh/identity -o IdentitiesOnly=yes "
        "-o UserKnownHostsFile=/etc/shiplane/git-ssh/known_hosts "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes"
    )
    mounts = {m["mountPath"]: m["name"] for m in container(objects)["volumeMounts"]}
    assert volumes[mounts["/etc/shiplane/git-ssh"]]["secret"]["secretName"] == "shiplane-git-ssh"
    assert env["SHIPLANE_SSO_CLIENT_SECRET"] == ("secret", "shiplane-sso", "client-secret")
    assert env["SHIPLANE_PUBLIC_URL"] == "https://shiplane.internal.example"
    assert container(objects)["image"] == "registry.example/platform/shiplane:0.1.0-rc.1"
    assert one(objects, "Service")["spec"]["type"] == "LoadBalancer"


def test_changed_shiplane_yaml_rolls_the_pods(helm: Helm) -> None:
    def checksum(project: str) -> str:
        objects = helm.render(values={"config": {"shiplaneYaml": project}})
        meta = one(objects, "Deployment")["spec"]["template"]["metadata"]
        return str(meta["annotations"]["checksum/config"])

    base = "apiVersion: shiplane/v1alpha1\nproject: a\n"
    assert checksum(base) == checksum(base)
    assert checksum(base) != checksum(base.replace("project: a", "project: b"))


def test_shiplane_yaml_as_a_string_is_kept_as_written(helm: Helm) -> None:
    text = "# our project\napiVersion: shiplane/v1alpha1\nproject: shop\n"
    objects = helm.render(values={"config": {"shiplaneYaml": text}})
    assert one(objects, "ConfigMap")["data"]["shiplane.yaml"] == text
