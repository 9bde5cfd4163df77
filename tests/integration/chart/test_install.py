"""charts/shiplane against a real local cluster: every rendered object of every
documented option passes the API server's server-side dry-run; `helm install` creates the
objects (local clusters run no real containers, so this asserts on objects, not on
running pods), the RBAC grants what it says and nothing more, `helm upgrade` rolls the
pods on a changed shiplane.yaml, bad values create nothing, `helm uninstall` removes it
all but the SQLite claim."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.authorization_v1 import ResourceAttributes, SubjectAccessReviewSpec
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    PersistentVolumeClaim,
    Secret,
    Service,
    ServiceAccount,
)
from lightkube.resources.networking_v1 import Ingress
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from shiplane.localcluster.cluster import ClusterState, kubectl_dir
from tests.integration.chart.chart import CHART, SCENARIOS, Helm, values_file
from tests.support.clusters import make_namespace
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster

ServiceMonitor = create_namespaced_resource(
    "monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"
)

# The Prometheus Operator's ServiceMonitor CRD is not part of a local cluster: this
# stand-in types the fields the chart sets (as the operator's CRD does) and keeps the
# rest, so the dry-run checks the chart's ServiceMonitor against a served API.
SERVICE_MONITOR_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names:
    kind: ServiceMonitor
    listKind: ServiceMonitorList
    plural: servicemonitors
    singular: servicemonitor
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [spec]
          properties:
            spec:
              type: object
              required: [selector]
              x-kubernetes-preserve-unknown-fields: true
              properties:
                selector:
                  type: object
                  properties:
                    matchLabels: {type: object, additionalProperties: {type: string}}
                namespaceSelector:
                  type: object
                  properties:
                    matchNames: {type: array, items: {type: string}}
                endpoints:
                  type: array
                  items:
                    type: object
                    properties:
                      port: {type: string}
                      path: {type: string}
                      interval: {type: string, pattern: 'DURATION'}
                      scrapeTimeout: {type: string, pattern: 'DURATION'}
""".replace("DURATION", "^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")


CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


def kubectl(
    state: ClusterState, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kubectl_dir() / "kubectl"), "--kubeconfig", str(state.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def service_monitor_crd(cluster: ClusterState) -> None:
    done = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=SERVICE_MONITOR_CRD)
    assert done.returncode == 0, done.stderr
    done = kubectl(
        cluster,
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/servicemonitors.monitoring.coreos.com",
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def managed_namespaces(kube: Client) -> Iterator[list[str]]:
    """Two environment namespaces for the chart's per-namespace Roles."""
    names = [make_namespace(kube, "env"), make_namespace(kube, "env")]
    yield names
    for name in names:
        kube.delete(Namespace, name)


@pytest.fixture
def cluster_helm(cluster: ClusterState, helm_home: Path, cluster_binaries: None) -> Helm:
    return Helm(helm_home, cluster.kubeconfig)


def rbac_sets(namespaces: list[str]) -> list[str]:
    return [f"rbac.namespaces={{{','.join(namespaces)}}}"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_objects_pass_server_side_dry_run(
    cluster: ClusterState,
    cluster_helm: Helm,
    service_monitor_crd: None,
    namespace: str,
    managed_namespaces: list[str],
    scenario: str,
) -> None:
    sets = rbac_sets(managed_namespaces)
    text = cluster_helm.template(scenario, sets, namespace=namespace).ok().stdout
    objects = [d for d in yaml.safe_load_all(text) if d]
    for obj in objects:  # where `helm install -n NAMESPACE` puts them
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"].setdefault("namespace", namespace)
    done = kubectl(
        cluster,
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=helm",
        "-f",
        "-",
        stdin=yaml.safe_dump_all(objects),
    )
    assert done.returncode == 0, done.stderr
    accepted = [line for line in done.stdout.splitlines() if "(server dry run)" in line]
    assert len(accepted) == len(objects), done.stdout
    for obj in objects:
        name = obj["metadata"]["name"]
        assert any(f"/{name} " in line and obj["kind"].lower() in line for line in accepted), (
            f"{obj['kind']}/{name} not accepted:\n{done.stdout}"
        )


def can(
    kube: Client,
    user: str,
    verb: str,
    resource: str,
    namespace: str | None,
    group: str = "",
    name: str | None = None,
) -> bool:
    review = SubjectAccessReview(
        spec=SubjectAccessReviewSpec(
            user=user,
            groups=["system:serviceaccounts", "system:authenticated"],
            resourceAttributes=ResourceAttributes(
                verb=verb, resource=resource, group=group, namespace=namespace, name=name
            ),
        )
    )
    answer = kube.create(review)
    assert answer.status is not None
    return bool(answer.status.allowed)


def get_or_none(kube: Client, kind: Any, name: str, namespace: str | None = None) -> Any:
    try:
        return kube.get(kind, name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise


def test_install_upgrade_uninstall_on_postgresql(
    cluster: ClusterState,
    kube: Client,
    cluster_helm: Helm,
    service_monitor_crd: None,
    namespace: str,
    managed_namespaces: list[str],
) -> None:
    release = "ship"
    args = ["-n", namespace, *values_file("full"), "--set", rbac_sets(managed_namespaces)[0]]
    cluster_helm.run("install", release, str(CHART), *args).ok()

    name = "ship-shiplane"
    deployment = kube.get(Deployment, name, namespace=namespace)
    assert deployment.spec is not None and deployment.spec.replicas == 2
    pod_spec = deployment.spec.template.spec
    assert pod_spec is not None and pod_spec.serviceAccountName == name
    assert kube.get(ServiceAccount, name, namespace=namespace)
    assert kube.get(Service, name, namespace=namespace)
    assert kube.get(Ingress, name, namespace=namespace)
    assert kube.get(ServiceMonitor, name, namespace=namespace)
    config = kube.get(ConfigMap, name, namespace=namespace)
    assert config.data is not None and "project: shop" in config.data["shiplane.yaml"]
    for suffix in ("git", "bootstrap", "sso"):
        assert kube.get(Secret, f"{name}-{suffix}", namespace=namespace)
    for env_ns in managed_namespaces:
        assert kube.get(Role, name, namespace=env_ns)
        assert kube.get(RoleBinding, name, namespace=env_ns)
    # The Deployment controller takes the pod template: a ReplicaSet for it appears.
    wait_for(
        lambda: list(
            kube.list(
                ReplicaSet, namespace=namespace, labels={"app.kubernetes.io/instance": release}
            )
        ),
        timeout=30,
        what="the Deployment's ReplicaSet",
    )

    # What the ServiceAccount may do in the home cluster: the rules in the managed
    # namespaces (and its Namespace object by name), nothing elsewhere.
    user = f"system:serviceaccount:{namespace}:{name}"
    first, second = managed_namespaces
    assert can(kube, user, "patch", "deployments", first, "apps")
    assert can(kube, user, "create", "deployments", second, "apps")
    assert can(kube, user, "delete", "configmaps", first)
    assert can(kube, user, "watch", "deployments", second, "apps")
    assert can(kube, user, "get", "pods", first)
    # Real requests as the ServiceAccount (impersonated): its environment's Namespace
    # object (read before each deploy), a server-side apply dry-run of an app's object.
    got = kubectl(cluster, "get", "namespace", first, "-o", "name", f"--as={user}")
    assert got.returncode == 0 and got.stdout.strip() == f"namespace/{first}", got.stderr
    app = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n"
    applied = kubectl(
        cluster,
        "apply",
        "--server-side",
        "--dry-run=server",
        "-n",
        second,
        "-f",
        "-",
        f"--as={user}",
        stdin=app,
    )
    assert applied.returncode == 0, applied.stderr
    refused = kubectl(
        cluster,
        "apply",
        "--server-side",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        f"--as={user}",
        stdin=app,
    )
    assert refused.returncode != 0 and "forbidden" in refused.stderr
    other = kubectl(cluster, "get", "namespace", namespace, f"--as={user}")
    assert other.returncode != 0 and "forbidden" in other.stderr
    assert not can(kube, user, "patch", "deployments", namespace, "apps")
    assert not can(kube, user, "list", "secrets", None)
    assert not can(kube, user, "create", "namespaces", None)
    assert not can(kube, user, "create", "clusterroles", None, "rbac.authorization.k8s.io")

    # A changed shiplane.yaml rolls the pods.
    before = deployment.spec.template.metadata
    assert before is not None and before.annotations is not None
    upgraded = cluster_helm.run(
        "upgrade", release, str(CHART), *args, "--set", "config.shiplaneYaml.project=shop2"
    ).ok()
    assert "has been upgraded" in upgraded.stdout
    after = kube.get(Deployment, name, namespace=namespace).spec
    assert after is not None and after.template.metadata is not None
    assert after.template.metadata.annotations is not None
    assert (
        after.template.metadata.annotations["checksum/config"]
        != before.annotations["checksum/config"]
    )
    config = kube.get(ConfigMap, name, namespace=namespace)
    assert config.data is not None and "project: shop2" in config.data["shiplane.yaml"]

    # An upgrade with bad values changes nothing.
    rejected = cluster_helm.run(
        "upgrade", release, str(CHART), *args, "--set", "image.digest=latest"
    )
    assert rejected.returncode != 0 and "at '/image/digest'" in rejected.stderr
    unchanged = kube.get(Deployment, name, namespace=namespace)
    assert unchanged.metadata is not None and deployment.metadata is not None
    assert unchanged.metadata.generation == (deployment.metadata.generation or 0) + 1

    cluster_helm.run("uninstall", release, "-n", namespace).ok()
    wait_for(
        lambda: (
            get_or_none(kube, Deployment, name, namespace) is None
            and all(get_or_none(kube, Role, name, ns) is None for ns in managed_namespaces)
            and get_or_none(kube, Secret, f"{name}-sso", namespace) is None
        ),
        timeout=30,
        what="the release's objects to be deleted",
    )


def test_install_on_sqlite_keeps_the_claim(
    kube: Client, cluster_helm: Helm, namespace: str
) -> None:
    cluster_helm.run("install", "solo", str(CHART), "-n", namespace).ok()
    deployment = kube.get(Deployment, "solo-shiplane", namespace=namespace)
    assert deployment.spec is not None and deployment.spec.replicas == 1
    assert deployment.spec.strategy is not None and deployment.spec.strategy.type == "Recreate"
    claim = kube.get(PersistentVolumeClaim, "solo-shiplane-data", namespace=namespace)
    assert claim.spec is not None and claim.spec.accessModes == ["ReadWriteOnce"]

    refused = cluster_helm.run(
        "upgrade", "solo", str(CHART), "-n", namespace, "--set", "replicaCount=3"
    )
    assert refused.returncode != 0
    assert "SQLite allows one server" in refused.stderr
    again = kube.get(Deployment, "solo-shiplane", namespace=namespace)
    assert again.spec is not None and again.spec.replicas == 1

    cluster_helm.run("uninstall", "solo", "-n", namespace).ok()
    wait_for(
        lambda: get_or_none(kube, Deployment, "solo-shiplane", namespace) is None,
        timeout=30,
        what="the Deployment to be deleted",
    )
    # The database is kept (helm.sh/resource-policy: keep); deleting it is a choice.
    assert get_or_none(kube, PersistentVolumeClaim, "solo-shiplane-data", namespace) is not None


def test_install_refuses_bad_values_and_creates_nothing(
    kube: Client, cluster_helm: Helm, namespace: str
) -> None:
    refused = cluster_helm.run(
        "install", "bad", str(CHART), "-n", namespace, "--set", "database.type=postgresql"
    )
    assert refused.returncode != 0
    assert "database.type is postgresql but no connection is given" in refused.stderr
    schema = cluster_helm.run(
        "install", "bad", str(CHART), "-n", namespace, "--set-json", "image.tag=1.5"
    )
    assert schema.returncode != 0
    assert "at '/image/tag': got number, want string" in schema.stderr
    listed = cluster_helm.run("list", "-n", namespace, "-q").ok()
    assert listed.stdout.strip() == ""
    assert list(kube.list(Deployment, namespace=namespace)) == []
