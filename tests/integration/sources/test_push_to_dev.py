"""Whole flow on real parts: an image pushed to a real registry (TLS, htpasswd) becomes a
release by polling and auto-promotes into dev on a local cluster, with no API call
from "CI" (`shiplane serve` as a process, its source polling every 5 s)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from shiplane.localcluster.cluster import ClusterState
from tests.support.gitops_repo import git
from tests.support.oci_registry import (
    PASSWORD,
    USER,
    OciRegistry,
    free_port,
    make_ca,
    start_registry,
    stop_registry,
)
from tests.support.serverproc import SHIPLANE, running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.cluster


def setup_repo(tmp: Path, registry: OciRegistry, kubeconfig: Path, namespace: str) -> Path:
    return write_repo(
        tmp, registry.host, registry.ca_file, registry.user, registry.password,
        kubeconfig, namespace,
    )  # fmt: skip


def write_repo(
    tmp: Path,
    host: str,
    ca_file: Path,
    user: str,
    password: str,
    kubeconfig: Path,
    namespace: str,
    *,
    interval: str = "5s",
    extra: str = "",
) -> Path:
    creds = tmp / "registry-auth"
    creds.write_text(f"{user}:{password}\n")
    image = f"{host}/e2e/web"
    files = {
        "shiplane.yaml": textwrap.dedent(f"""\
            apiVersion: shiplane/v1alpha1
            project: pushed
            clusters: {{local: {{kubeconfig: {kubeconfig}}}}}
            environments: {{dev: {{cluster: local, namespace: {namespace}, autoPromote: true}}}}
            apps: {{web: {{images: [{image}], manifests: {{path: apps/web}}}}}}
            sources:
              web:
                image: {{repository: {image}, credentials: {{file: {creds}}},
                         caFile: {ca_file}}}
                apps: [web]
                interval: {interval}
            """)
        + extra,
        "apps/web/app.yaml": textwrap.dedent(f"""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: web}}
            spec:
              replicas: 1
              selector: {{matchLabels: {{app: web}}}}
              template:
                metadata: {{labels: {{app: web}}}}
                spec:
                  containers:
                  - {{name: main, image: {image}:0.0.0}}
            """),
    }
    bare = tmp / "gitops.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    work = tmp / "checkout"
    git(tmp, "clone", "-q", str(bare), str(work))
    for rel, content in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(content)
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "push", "-q", "origin", "main")
    return bare


def test_a_pushed_image_arrives_in_dev(
    tmp_path: Path, oci_registry: OciRegistry, cluster: ClusterState, kube: Client, namespace: str
) -> None:
    bare = setup_repo(tmp_path, oci_registry, cluster.kubeconfig, namespace)
    with running_server(
        tmp_path / "server", f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server, server.admin() as api:  # fmt: skip
        first = wait_for(
            lambda: api.get("/api/v1/sources/web").json(), timeout=60, what="the source state"
        )
        assert first["kind"] == "image"
        digest = oci_registry.push_image("e2e/web", "1.0.0")  # "CI" pushes; nothing else

        def released() -> dict[str, Any] | None:
            items = api.get("/api/v1/releases").json()["items"]
            return items[0] if items else None

        release = wait_for(released, timeout=60, what="a release of the pushed image")
        assert release["artifacts"][0]["ref"] == f"{oci_registry.host}/e2e/web:1.0.0@{digest}"
        assert release["creator"] == "source/web"

        def promoted() -> dict[str, Any] | None:
            items = api.get("/api/v1/promotions", params={"environment": "dev"}).json()["items"]
            done = [p for p in items if p["state"] == "Succeeded"]
            return done[0] if done else None

        promotion = wait_for(promoted, timeout=180, what="the auto-promotion into dev")
        assert promotion["release_id"] == release["id"] and promotion["trigger"] == "auto"
        source = api.get("/api/v1/sources/web").json()
        assert source["healthy"] is True and source["last_release"] == release["id"]

        # The CLI over the same API.
        env = {**os.environ, "SHIPLANE_SERVER": server.url, "SHIPLANE_TOKEN": server.admin_token,
               "SHIPLANE_CONFIG": str(tmp_path / "cli.yaml")}  # fmt: skip
        shown = subprocess.run([SHIPLANE, "source", "show", "web", "-o", "json"], env=env,
                               capture_output=True, text=True, check=True)  # fmt: skip
        assert json.loads(shown.stdout)["digest"] == digest
        listed = subprocess.run([SHIPLANE, "source", "list"], env=env, capture_output=True,
                                text=True, check=True)  # fmt: skip
        assert listed.stdout.splitlines()[0].split()[:4] == ["NAME", "KIND", "HEALTH", "VERSION"]
        assert "Healthy" in listed.stdout and "1.0.0" in listed.stdout
        refreshed = subprocess.run([SHIPLANE, "source", "refresh", "web", "-o", "json"], env=env,
                                   capture_output=True, text=True, check=True)  # fmt: skip
        assert json.loads(refreshed.stdout)["version"] == "1.0.0"
        missing = subprocess.run([SHIPLANE, "source", "show", "wbe"], env=env,
                                 capture_output=True, text=True)  # fmt: skip
        assert missing.returncode == 1 and "source 'wbe' is not defined" in missing.stderr
    live = kube.get(Deployment, "web", namespace=namespace)
    assert live.spec is not None
    assert live.spec.template.spec.containers[0].image.endswith(f"@{digest}")


def test_the_registry_notification_brings_the_release_within_seconds(
    tmp_path: Path,
    cluster: ClusterState,
    kube: Client,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The registry's own `notifications` endpoint calls Shiplane's receiver: the pushed
    image becomes a release long before the source's next poll (an hour away), and
    auto-promotes into dev. Only the registry talks to Shiplane: no call from "CI"."""
    secret = "registry-hook-" + "s" * 24
    monkeypatch.setenv("SHIPLANE_TEST_HOOK_REGISTRY", secret)  # the server inherits it
    root = tmp_path / "registry"
    root.mkdir()
    make_ca(root)
    host = f"127.0.0.1:{free_port()}"
    receivers = textwrap.dedent("""\
        receivers:
          registry: {type: distribution, secretEnv: SHIPLANE_TEST_HOOK_REGISTRY}
        """)
    bare = write_repo(
        tmp_path, host, root / "ca.pem", USER, PASSWORD, cluster.kubeconfig, namespace,
        interval="1h", extra=receivers,
    )  # fmt: skip
    with running_server(
        tmp_path / "server", f"sqlite:///{tmp_path / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server, server.admin() as api:  # fmt: skip
        hook = f"{server.url}/api/v1/hooks/registry"
        registry = start_registry(
            root,
            port=int(host.rsplit(":", 1)[1]),
            notifications=textwrap.dedent(f"""\
                notifications:
                  endpoints:
                    - name: shiplane
                      url: {hook}
                      headers: {{Authorization: [Bearer {secret}]}}
                      timeout: 2s
                      threshold: 3
                      backoff: 1s
                """),
        )
        try:
            if api.get("/api/v1/sources/web").json().get("checked_at") is None:
                assert api.post("/api/v1/sources/web/refresh").status_code == 200
            state = api.get("/api/v1/sources/web").json()
            next_poll = datetime.fromisoformat(state["next_poll_at"])
            assert next_poll > datetime.now(UTC) + timedelta(minutes=30)  # no poll soon

            digest = registry.push_image("e2e/web", "2.0.0")  # the push is all there is

            def released() -> dict[str, Any] | None:
                items = api.get("/api/v1/releases").json()["items"]
                return items[0] if items else None

            release = wait_for(released, timeout=30, what="the release the hook brings")
            assert release["artifacts"][0]["ref"] == f"{host}/e2e/web:2.0.0@{digest}"
            assert datetime.now(UTC) < next_poll
            events = api.get("/api/v1/audit", params={"action": "hook.received"}).json()
            matched = [e["details"].get("matched") for e in events["items"]]
            assert ["web"] in matched, events

            def promoted() -> dict[str, Any] | None:
                items = api.get("/api/v1/promotions", params={"environment": "dev"}).json()
                done = [p for p in items["items"] if p["state"] == "Succeeded"]
                return done[0] if done else None

            promotion = wait_for(promoted, timeout=180, what="the auto-promotion into dev")
            assert promotion["release_id"] == release["id"]
        finally:
            stop_registry(registry)
    live = kube.get(Deployment, "web", namespace=namespace)
    assert live.spec is not None
    assert live.spec.template.spec.containers[0].image.endswith(f"@{digest}")
