"""A canary through the CLI and the API of a real `shiplane serve`: `promotion explain`
says where it stands, `promotion resume` and `skip-step` move it (role promoter; a
viewer is refused), `promotion show` lists its steps, and it ends Succeeded with the
stable Deployment on the new release and no canary left; `freeze --abort` aborts a
moving canary (traffic back on stable) and keeps the environment frozen."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

from shiplane.domain.roles import Role
from shiplane.localcluster.cluster import ClusterState
from shiplane.store import tokens
from shiplane.store.db import Database
from tests.e2e.deploy.conftest import as_json, cli
from tests.support.clusters import make_namespace
from tests.support.gitops_repo import build_repo
from tests.support.serverproc import ServerProcess, running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster


def project(kubeconfig: Path, namespace: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: shop
        clusters:
          local: {{kubeconfig: {kubeconfig}}}
        environments:
          prod:
            cluster: local
            namespace: {namespace}
            strategy:
              canary:
                steps: [{{setWeight: 50}}, {{pause: {{}}}}, {{setWeight: 75}}, {{pause: 1h}}]
        apps:
          web:
            images: [registry.example/shop/web]
            manifests: {{path: apps/web, render: plain}}
        """)


@pytest.fixture
def served(
    tmp_path: Path, cluster: ClusterState, kube: Client
) -> Iterator[tuple[ServerProcess, str]]:
    namespace = make_namespace(kube, "canary")
    bare, _work = build_repo(tmp_path, project(cluster.kubeconfig, namespace))
    with running_server(
        tmp_path / "server",
        f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server:
        yield server, namespace
    kube.delete(Namespace, namespace)


def show(server: ServerProcess, promotion_id: str) -> dict[str, Any]:
    return dict(as_json(cli(server, "promotion", "show", promotion_id, "-o", "json")))


def replicas(kube: Client, name: str, namespace: str) -> int | None:
    try:
        d = kube.get(Deployment, name, namespace=namespace)
    except ApiError:
        return None
    assert d.spec is not None
    return d.spec.replicas


def image(kube: Client, namespace: str) -> str:
    d = kube.get(Deployment, "web", namespace=namespace)
    return str(d.spec.template.spec.containers[0].image)  # type: ignore[union-attr]


def promoter_elsewhere(server: ServerProcess) -> str:
    """A token as single sign-on mints it: promoter in staging, viewer elsewhere."""
    db = Database.from_url(server.database_url)
    try:
        with db.session() as s:
            grant = tokens.SsoGrant(
                "https://idp#frank", (("*", Role.VIEWER), ("staging", Role.PROMOTER)),
                timedelta(hours=1),
            )  # fmt: skip
            _record, plaintext = tokens.create_token(
                s, name="frank", role=Role.PROMOTER, environments=(), created_by="sso", sso=grant
            )
    finally:
        db.close()
    return plaintext


def test_a_canary_is_steered_from_the_cli(served: tuple[ServerProcess, str], kube: Client) -> None:
    server, namespace = served
    for version in ("1.0.0", "1.1.0"):
        made = cli(server, "release", "create", f"web=registry.example/shop/web:{version}",
                   "--alias", version)  # fmt: skip
        assert made.returncode == 0, made.stderr
    first = cli(server, "promote", "1.0.0", "--to", "prod", "--wait")
    assert first.returncode == 0, first.stderr + first.stdout

    promoted = as_json(cli(server, "promote", "1.1.0", "--to", "prod", "-o", "json"))
    pid = promoted["id"]

    def at_step(n: int) -> bool:
        reason = show(server, pid)["promotion"]["reason"]
        return f"step {n}/4: pause" in reason

    wait_for(lambda: at_step(2), timeout=90, what="the canary's first pause")
    assert replicas(kube, "web-canary", namespace) == 2  # 50% beside 2 stable replicas
    status = cli(server, "status", "--no-headers")
    assert "+1 pending canary 50%" in status.stdout, status.stdout
    matrix = as_json(cli(server, "status", "-o", "json"))
    assert matrix["pending"][0]["strategy"] == {"web": "canary 50% (step 2/4: pause until resumed)"}
    explained = cli(server, "promotion", "explain", pid)
    assert "strategy (steps): canary 50% (step 2/4: pause until resumed)" in explained.stdout

    # Role promoter: a viewer may look but not steer.
    with server.admin() as admin:
        made_token = admin.post("/api/v1/tokens", json={"role": "viewer", "name": "eve"})
        assert made_token.status_code == 201, made_token.text
        viewer = made_token.json()["token"]
    with server.client(viewer) as c:
        assert c.post(f"/api/v1/promotions/{pid}/resume").status_code == 403
    # Signed in by SSO as a promoter in other environments only: refused in prod too.
    with server.client(promoter_elsewhere(server)) as c:
        refused = c.post(f"/api/v1/promotions/{pid}/skip-step")
        assert refused.status_code == 403, refused.text
        assert "has role 'viewer' in prod" in refused.json()["detail"]
        assert c.post(f"/api/v1/promotions/{pid}/resume").status_code == 403
    with server.client(viewer) as c:
        assert (
            c.get(f"/api/v1/promotions/{pid}").json()["promotion"]["data"]["strategy"]["phase"]
            == "steps"
        )

    resumed = cli(server, "promotion", "resume", pid)
    assert resumed.returncode == 0, resumed.stderr
    # setWeight 75 beside 2 stable replicas: 6 canary replicas; then an hour's pause.
    wait_for(lambda: at_step(4), timeout=90, what="the canary's second pause")
    assert replicas(kube, "web-canary", namespace) == 6
    assert image(kube, namespace) == "registry.example/shop/web:1.0.0"  # stable untouched
    early = cli(server, "promotion", "resume", pid)
    assert early.returncode == 0, early.stderr  # a timed pause may end early too

    def finished() -> bool:
        return show(server, pid)["promotion"]["state"] == "Succeeded"

    wait_for(finished, timeout=120, what="the promotion to succeed")
    assert image(kube, namespace) == "registry.example/shop/web:1.1.0"
    assert replicas(kube, "web-canary", namespace) is None
    steps = [s["name"] for s in show(server, pid)["steps"]]
    assert "canary step 3/4: setWeight 75" in steps and steps.count("strategy resume") == 2

    # Nothing left to resume or skip: 409, exit 1.
    late = cli(server, "promotion", "skip-step", pid)
    assert late.returncode == 1 and "not taking a strategy's steps" in late.stderr, late.stderr
    table = cli(server, "promotion", "show", pid)
    assert "canary step 1/4: setWeight 50" in table.stdout
    assert json.loads(cli(server, "promotion", "show", pid, "-o", "json").stdout)


def test_a_freeze_with_abort_returns_the_traffic_to_stable(
    served: tuple[ServerProcess, str], kube: Client
) -> None:
    server, namespace = served
    for version in ("1.0.0", "1.1.0"):
        made = cli(server, "release", "create", f"web=registry.example/shop/web:{version}",
                   "--alias", version)  # fmt: skip
        assert made.returncode == 0, made.stderr
    first = cli(server, "promote", "1.0.0", "--to", "prod", "--wait")
    assert first.returncode == 0, first.stderr + first.stdout
    pid = as_json(cli(server, "promote", "1.1.0", "--to", "prod", "-o", "json"))["id"]
    wait_for(
        lambda: "step 2/4: pause" in show(server, pid)["promotion"]["reason"],
        timeout=90,
        what="the canary's first pause",
    )
    assert replicas(kube, "web-canary", namespace) == 2

    frozen = cli(server, "freeze", "prod", "--reason", "incident 42", "--abort")
    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout.splitlines() == ["frozen: prod", f"aborted: {pid}"]
    assert replicas(kube, "web-canary", namespace) is None  # gone when the command returned
    promotion = show(server, pid)["promotion"]
    assert promotion["state"] == "Aborted" and "frozen: incident 42" in promotion["reason"]
    assert image(kube, namespace) == "registry.example/shop/web:1.0.0"
    matrix = as_json(cli(server, "status", "-o", "json"))
    assert [(f["environment"], f["reason"]) for f in matrix["freezes"]] == [("prod", "incident 42")]
    again = cli(server, "freeze", "prod", "--reason", "still", "--abort")
    assert again.stdout.splitlines() == ["frozen: prod", "aborted: nothing was moving"]
