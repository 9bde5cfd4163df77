"""In-cluster mode and `shiplane cluster add|list|remove`, with real tokens from real local
clusters: a server that reaches its home cluster only through a ServiceAccount token
(TokenRequest) in a service account directory, and a second cluster registered by
`cluster add` and used through the ServiceAccount it made, then removed without trace."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from shiplane.kube import access
from shiplane.kube.apply_rest import request
from shiplane.kube.connection import connect
from shiplane.kube.permissions import REQUIRED_VERBS
from shiplane.localcluster.cluster import ClusterState
from tests.e2e.deploy.conftest import as_json, cli
from tests.support.clusters import kube_client, make_namespace
from tests.support.gitops_repo import PLAIN_APP, git
from tests.support.serverproc import SHIPLANE, ServerProcess, running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster

WEB = "registry.example/shop/web"


def _repo(tmp: Path, clusters: dict[str, dict[str, Any]], envs: dict[str, tuple[str, str]]) -> Path:
    """A GitOps repository with one plain app, `web`, in every environment."""
    project = {
        "apiVersion": "shiplane/v1alpha1",
        "project": "shop",
        "clusters": clusters,
        "environments": {e: {"cluster": c, "namespace": ns} for e, (c, ns) in envs.items()},
        "apps": {"web": {"images": [WEB], "manifests": {"path": "apps/web", "render": "plain"}}},
    }
    bare = tmp / "gitops.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp / "checkout"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    (work / "apps/web").mkdir(parents=True)
    (work / "apps/web/app.yaml").write_text(PLAIN_APP)
    for env in envs:
        (work / f"envs/{env}/web").mkdir(parents=True)
        (work / f"envs/{env}/web/.keep").write_text("")
    (work / "shiplane.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "push", "-q", "origin", "main")
    return bare


def _token(state: ClusterState, namespace: str, account: str, seconds: int = 3600) -> str:
    """A ServiceAccount token from the cluster's TokenRequest API (as the kubelet gets one)."""

    async def ask() -> str:
        client = connect(state.kubeconfig)
        try:
            answer = await request(
                client,
                "POST",
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"expirationSeconds": seconds}},
            )  # fmt: skip
        finally:
            await client.close()
        return str(answer["status"]["token"])

    return asyncio.run(ask())


def _grant(kube: Client, namespace: str, account_ns: str, account: str) -> None:
    """What a Helm chart grants Shiplane in a namespace: a Role and its RoleBinding."""
    meta = ObjectMeta(name="shiplane", namespace=namespace)
    kube.create(Role(metadata=meta, rules=[
        {"apiGroups": ["*"], "resources": ["*"], "verbs": list(REQUIRED_VERBS)}
    ]))  # fmt: skip
    kube.create(RoleBinding(
        metadata=meta,
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "shiplane"},
        subjects=[{"kind": "ServiceAccount", "name": account, "namespace": account_ns}],
    ))  # fmt: skip


def _swap(directory: Path, token: str) -> None:
    fresh = directory / ".token.new"
    fresh.write_text(token)
    os.replace(fresh, directory / "token")  # as the kubelet rotates: a new file moved in


def _release(server: ServerProcess, version: str) -> None:
    made = cli(server, "release", "create", f"web={WEB}:{version}", "--alias", version)
    assert made.returncode == 0, made.stderr


def _promotion(server: ServerProcess, alias: str, env: str) -> dict[str, Any]:
    """Promote and follow through the API until the promotion ends."""
    pid = as_json(cli(server, "promote", alias, "--to", env, "-o", "json"))["id"]
    with server.admin() as api:

        def ended() -> dict[str, Any] | None:
            found: dict[str, Any] = api.get(f"/api/v1/promotions/{pid}").json()["promotion"]
            return found if found["state"] in ("Succeeded", "Failed", "Aborted") else None

        return wait_for(ended, timeout=180, what=f"promotion {pid} into {env} to end")


def test_in_cluster_mode_with_a_real_service_account_token(
    tmp_path: Path, cluster: ClusterState, kube: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_ns = make_namespace(kube, "inc")
    outside = make_namespace(kube, "outside")  # exists, but nothing is granted there
    wide_ns = make_namespace(kube, "wide")  # granted, but its cluster entry has no namespaces
    kube.create(ServiceAccount(metadata=ObjectMeta(name="shiplane", namespace=home_ns)))
    _grant(kube, home_ns, home_ns, "shiplane")
    _grant(kube, wide_ns, home_ns, "shiplane")
    account = tmp_path / "serviceaccount"
    account.mkdir()
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    (account / "ca.crt").write_bytes(ca)
    (account / "namespace").write_text(home_ns)
    _swap(account, _token(cluster, home_ns, "shiplane"))
    server_url = httpx.URL(cluster.server)
    monkeypatch.setenv("SHIPLANE_SERVICEACCOUNT_DIR", str(account))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", str(server_url.host))
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server_url.port))
    bare = _repo(
        tmp_path,
        {"home": {"inCluster": True, "namespaces": [home_ns]}, "wide": {"inCluster": True}},
        {"dev": ("home", home_ns), "outside": ("home", outside), "wide": ("wide", wide_ns)},
    )
    try:
        with running_server(
            tmp_path / "server",
            f"sqlite:///{tmp_path / 'shiplane.db'}",
            extra_args=["--repo", str(bare), "--health-timeout", "60"],
        ) as server:
            matrix = as_json(cli(server, "status", "-o", "json"))
            assert matrix["environments"] == ["dev", "outside", "wide"]
            listed = server.admin().get("/api/v1/clusters").json()["clusters"]
            assert [(c["name"], c["auth"], c["reachable"], c["reason"]) for c in listed] == [
                ("home", "serviceaccount", True, None),
                ("wide", "serviceaccount", True, None),
            ]
            assert listed[0]["token_expires"]  # a TokenRequest token says when it expires

            _release(server, "1.0.0")
            done = _promotion(server, "1.0.0", "dev")
            assert done["state"] == "Succeeded", done
            deployment = kube.get(_deployment(), "web", namespace=home_ns)
            managers = {m.manager for m in deployment.metadata.managedFields or []}
            assert "shiplane" in managers

            # Outside the granted RBAC: a clear permission error, not a crash.
            refused = _promotion(server, "1.0.0", "outside")
            assert refused["state"] == "Failed", refused
            reason = refused["reason"]
            assert f"system:serviceaccount:{home_ns}:shiplane may not get namespaces" in reason
            assert f"in namespace {outside}" in reason and "Role and RoleBinding" in reason
            # Namespace-scoped credentials without `namespaces`: drift says so at once.
            unwatched = _promotion(server, "1.0.0", "wide")
            assert unwatched["state"] == "Failed", unwatched
            assert "drift cannot watch cluster wide" in unwatched["reason"]
            assert "clusters.wide.namespaces" in unwatched["reason"]
            assert "Traceback" not in server.logs()

            # Rotation: a token that stops working is noticed; the next one is read from
            # the file without a restart.
            _swap(account, "not-a-valid-token")
            down = wait_for(
                lambda: (
                    (r := httpx.get(server.url + "/readyz", timeout=10)).status_code == 503 and r
                ),
                timeout=30,
                what="readyz to report the rejected token",
            )
            assert "home (credentials rejected (401)" in down.json()["detail"]
            _swap(account, _token(cluster, home_ns, "shiplane"))
            wait_for(
                lambda: httpx.get(server.url + "/readyz", timeout=10).status_code == 200,
                timeout=30,
                what="readyz with the rotated token",
            )
            _release(server, "1.0.1")
            again = _promotion(server, "1.0.1", "dev")
            assert again["state"] == "Succeeded", again
    finally:
        for ns in (home_ns, outside, wide_ns):
            kube.delete(Namespace, ns)


def _deployment() -> Any:
    from lightkube.resources.apps_v1 import Deployment

    return Deployment


def _ui_page(server: ServerProcess, path: str) -> str:
    """A UI page as a person signed in with the admin token sees it."""
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        form = browser.get("/ui/login").text
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert nonce is not None, form
        data = {"csrf_token": nonce.group(1), "token": server.admin_token, "next": path}
        browser.post("/ui/login", data=data, follow_redirects=False)
        answer = browser.get(path)
        assert answer.status_code == 200, answer.text
        return answer.text


def _shiplane(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env.update(SHIPLANE_HOME=str(home), COLUMNS="250")
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        [SHIPLANE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_cluster_add_promote_through_its_account_then_remove_without_trace(
    tmp_path: Path, second_cluster: ClusterState
) -> None:
    kube_b = kube_client(second_cluster)
    existing = make_namespace(kube_b, "reg")
    fresh = f"reg-new-{uuid.uuid4().hex[:6]}"  # `cluster add` makes this one
    name = f"b-{uuid.uuid4().hex[:6]}"
    home = tmp_path / "home"
    added = _shiplane(
        home, "cluster", "add", second_cluster.name, "--name", name,
        "--namespace", existing, "--namespace", fresh,
        "--kubeconfig", str(second_cluster.kubeconfig), "--token-duration", "2h",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr + added.stdout
    entry = yaml.safe_load(added.stdout.split("add to shiplane.yaml:\n", 1)[1])
    creds = Path(entry["clusters"][name]["kubeconfig"])
    assert entry["clusters"][name]["namespaces"] == [existing, fresh]
    assert creds.stat().st_mode & 0o777 == 0o600
    assert "token:" not in added.stdout  # the token is in the file only
    record = json.loads((creds.parent / "registration.json").read_text())
    made = record["created"]
    assert f"ServiceAccount shiplane-system/shiplane-{name}" in made
    assert f"Namespace {fresh}" in made
    assert kube_b.get(Namespace, fresh).metadata.name == fresh
    user = yaml.safe_load(creds.read_text())["users"][0]["user"]
    assert set(user) == {"token"}  # nothing but the ServiceAccount's token

    listed = _shiplane(home, "cluster", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["auth"], r["reachable"], r["reason"]) for r in rows] == [
        (name, "serviceaccount token", True, None)
    ]
    assert rows[0]["namespaces"] == [existing, fresh] and rows[0]["token_expires"]

    bare = _repo(
        tmp_path,
        {name: {"kubeconfig": str(creds), "namespaces": [existing, fresh]}},
        {"dev": (name, existing), "qa": (name, fresh)},
    )
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server:
        _release(server, "1.0.0")
        for env, ns in (("dev", existing), ("qa", fresh)):
            done = _promotion(server, "1.0.0", env)
            assert done["state"] == "Succeeded", done
            deployment = kube_b.get(_deployment(), "web", namespace=ns)
            assert deployment.metadata.labels["app.kubernetes.io/managed-by"] == "shiplane"
        # Drift works with namespace-scoped credentials (a watch per namespace): an edit
        # by someone else is seen as drift.
        kube_b.patch(_deployment(), "web", {"spec": {"replicas": 5}}, namespace=existing,
                     field_manager="kubectl-edit")  # fmt: skip
        wait_for(
            lambda: any(
                c["environment"] == "dev" and c["sync_status"] == "OutOfSync"
                for c in as_json(cli(server, "status", "-o", "json"))["cells"]
            ),
            timeout=60,
            what="drift seen through the namespace-scoped watch",
        )

        # A permission lost: the reason shows in /api/v1/clusters, `status` and /readyz.
        kube_b.delete(RoleBinding, f"shiplane-{name}", namespace=fresh)
        lost = wait_for(
            lambda: (r := httpx.get(server.url + "/readyz", timeout=10)).status_code == 503 and r,
            timeout=30,
            what="readyz to report the lost permission",
        )
        assert (
            f"clusters degraded: {name} (missing permissions in {fresh}:" in (lost.json()["detail"])
        )
        shown = server.admin().get("/api/v1/clusters").json()["clusters"][0]
        assert shown["reachable"] and "patch deployments.apps" in shown["reason"]
        status = cli(server, "status")
        assert f"CLUSTER {name} degraded: missing permissions in {fresh}" in status.stdout
        page = _ui_page(server, "/ui/environments")
        assert f'id="cluster-{name}"' in page and f"missing permissions in {fresh}" in page

    # `add` again renews the token and withdraws the grant of a namespace left out.
    again = _shiplane(
        home, "cluster", "add", second_cluster.name, "--name", name, "--namespace", existing,
        "--kubeconfig", str(second_cluster.kubeconfig),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr + again.stdout
    assert yaml.safe_load(creds.read_text())["users"][0]["user"]["token"] != user["token"]
    for resource in (Role, RoleBinding):
        with pytest.raises(ApiError) as withdrawn:
            kube_b.get(resource, f"shiplane-{name}", namespace=fresh)
        assert withdrawn.value.status.code == 404
        assert kube_b.get(resource, f"shiplane-{name}", namespace=existing)

    removed = _shiplane(home, "cluster", "remove", name, "--delete-namespaces")
    assert removed.returncode == 0, removed.stderr + removed.stdout
    assert "nothing of it is left" in removed.stdout
    for line in made:  # everything `add` made is gone (a namespace may still terminate)
        kind, _, where = line.partition(" ")
        ns, _, obj = where.rpartition("/")
        resource = {"Namespace": Namespace, "ServiceAccount": ServiceAccount, "Role": Role,
                    "RoleBinding": RoleBinding}[kind]  # fmt: skip
        try:
            live = kube_b.get(resource, obj, namespace=ns or None)
        except ApiError as err:
            assert err.status.code == 404, line
            continue
        assert kind == "Namespace" and live.metadata.deletionTimestamp is not None, line
    assert kube_b.get(Namespace, existing).status.phase == "Active"  # not made by add: kept
    assert not creds.parent.exists()

    async def revoked() -> access.Access:
        client = connect_with_token(second_cluster, user["token"])
        try:
            return await access.probe(client)
        finally:
            await client.close()

    # The ServiceAccount's tokens die with it (once the API server's informer saw it go).
    def refused() -> access.Access | None:
        found = asyncio.run(revoked())
        return None if found.reachable else found

    gone = wait_for(
        refused,
        timeout=60,
        what="the removed ServiceAccount's token to be refused",
    )
    assert "credentials rejected (401)" in (gone.reason or "")
    kube_b.delete(Namespace, existing)


def connect_with_token(state: ClusterState, token: str) -> Any:
    config = yaml.safe_load(state.kubeconfig.read_text())
    config["users"][0]["user"] = {"token": token}
    path = state.kubeconfig.parent / f"probe-{uuid.uuid4().hex[:6]}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    try:
        return connect(path)
    finally:
        path.unlink()


def test_cluster_add_for_an_in_cluster_shiplane_stores_a_kubeconfig_secret(
    tmp_path: Path, cluster: ClusterState, kube: Client, second_cluster: ClusterState
) -> None:
    """Shiplane runs in the primary cluster (namespace `shiplane_ns`); the second cluster
    is registered, its kubeconfig stored as a Secret there to be mounted as a file."""
    from lightkube.resources.core_v1 import Secret

    shiplane_ns = make_namespace(kube, "shiplane")
    kube_b = kube_client(second_cluster)
    target = make_namespace(kube_b, "target")
    name = f"s-{uuid.uuid4().hex[:6]}"
    home = tmp_path / "home"
    added = _shiplane(
        home, "cluster", "add", second_cluster.name, "--name", name, "--namespace", target,
        "--kubeconfig", str(second_cluster.kubeconfig), "--secret-namespace", shiplane_ns,
        "--home-kubeconfig", str(cluster.kubeconfig),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr + added.stdout
    entry = yaml.safe_load(added.stdout.split("add to shiplane.yaml:\n", 1)[1])
    assert entry["clusters"][name]["kubeconfig"] == f"/etc/shiplane/clusters/{name}/kubeconfig"
    secret = kube.get(Secret, f"shiplane-cluster-{name}", namespace=shiplane_ns)
    assert secret.metadata.labels["shiplane.dev/registration"] == name
    stored = base64.b64decode(secret.data["kubeconfig"]).decode()
    creds = home / "registered" / name / "kubeconfig"
    assert stored == creds.read_text()  # the same credentials, mounted as a file in a pod

    removed = _shiplane(home, "cluster", "remove", name)
    assert removed.returncode == 0, removed.stderr + removed.stdout
    assert f"deleted Secret {shiplane_ns}/shiplane-cluster-{name}" in removed.stdout
    for resource, ns, obj in (
        (Secret, shiplane_ns, f"shiplane-cluster-{name}"),
        (ServiceAccount, "shiplane-system", f"shiplane-{name}"),
        (RoleBinding, target, f"shiplane-{name}"),
    ):
        client = kube if resource is Secret else kube_b
        with pytest.raises(ApiError) as gone:
            client.get(resource, obj, namespace=ns)
        assert gone.value.status.code == 404
    kube.delete(Namespace, shiplane_ns)
    kube_b.delete(Namespace, target)
