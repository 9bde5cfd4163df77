"""In-cluster mode: where the service account is, and a token re-read when rotated."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
import pytest

from shiplane.kube import in_cluster
from shiplane.kube.in_cluster import InClusterUnavailableError, RotatingTokenAuth


def _account(tmp_path: Path, token: str = "tok-1") -> Path:
    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "namespace").write_text("shiplane\n")
    return tmp_path


def test_mount_reads_the_directory_and_the_service_host(tmp_path: Path) -> None:
    env = {
        "SHIPLANE_SERVICEACCOUNT_DIR": str(_account(tmp_path)),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "6443",
    }
    found = in_cluster.mount(env)
    assert found.server == "https://127.0.0.1:6443"
    assert found.token_file == tmp_path / "token"
    assert found.namespace == "shiplane"
    assert in_cluster.mount({**env, "KUBERNETES_SERVICE_HOST": "fd00::1"}).server == (
        "https://[fd00::1]:6443"
    )
    override = {**env, "SHIPLANE_KUBERNETES_SERVER": "https://api.example:443/"}
    assert in_cluster.mount(override).server == "https://api.example:443"


def test_mount_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(InClusterUnavailableError, match=r"no service account token and ca\.crt"):
        in_cluster.mount({"SHIPLANE_SERVICEACCOUNT_DIR": str(tmp_path)})
    env = {"SHIPLANE_SERVICEACCOUNT_DIR": str(_account(tmp_path))}
    with pytest.raises(InClusterUnavailableError, match="KUBERNETES_SERVICE_HOST") as err:
        in_cluster.mount(env)
    assert "SHIPLANE_KUBERNETES_SERVER" in str(err.value)


def test_running_in_cluster(tmp_path: Path) -> None:
    assert not in_cluster.running_in_cluster({"SHIPLANE_SERVICEACCOUNT_DIR": str(tmp_path)})
    assert in_cluster.running_in_cluster({"SHIPLANE_SERVICEACCOUNT_DIR": str(_account(tmp_path))})
    assert in_cluster.running_in_cluster(
        {"SHIPLANE_SERVICEACCOUNT_DIR": "/nonexistent", "SHIPLANE_IN_CLUSTER": "1"}
    )


def _swap(directory: Path, token: str) -> None:
    """As the kubelet does: a new file moved into place (a new inode)."""
    fresh = directory / ".token.new"
    fresh.write_text(token)
    os.replace(fresh, directory / "token")


def test_a_swapped_token_file_is_used_from_the_next_request(tmp_path: Path) -> None:
    account = _account(tmp_path, "tok-1")
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["Authorization"])
        return httpx2.Response(200)

    auth = RotatingTokenAuth(account / "token")
    with httpx2.Client(transport=httpx2.MockTransport(answer), auth=auth) as client:
        client.get("https://api.test/version")
        client.get("https://api.test/version")
        _swap(account, "tok-2")
        client.get("https://api.test/version")
    assert seen == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert auth.reads == 2  # unchanged files are not read again


def test_a_401_reads_the_token_again_and_retries_once(tmp_path: Path) -> None:
    account = _account(tmp_path, "tok-old")
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        bearer = request.headers["Authorization"]
        seen.append(bearer)
        if bearer == "Bearer tok-old":
            _swap(account, "tok-new")  # rotated between the check and the request
            return httpx2.Response(401)
        return httpx2.Response(200)

    with httpx2.Client(
        transport=httpx2.MockTransport(answer), auth=RotatingTokenAuth(account / "token")
    ) as client:
        assert client.get("https://api.test/version").status_code == 200
    assert seen == ["Bearer tok-old", "Bearer tok-new"]


def test_a_401_with_an_unchanged_token_is_the_answer(tmp_path: Path) -> None:
    account = _account(tmp_path, "tok-revoked")
    sent: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers["Authorization"])
        return httpx2.Response(401)

    with httpx2.Client(
        transport=httpx2.MockTransport(answer), auth=RotatingTokenAuth(account / "token")
    ) as client:
        assert client.get("https://api.test/version").status_code == 401
    assert sent == ["Bearer tok-revoked"]


def test_serve_warns_of_in_cluster_clusters_outside_a_pod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shiplane.api.server import in_cluster_warnings
    from shiplane.config import load_project_text

    project = load_project_text(
        "apiVersion: shiplane/v1alpha1\nproject: shop\n"
        "clusters: {home: {inCluster: true}, other: {kubeconfig: /k}}\n"
        "environments: {dev: {cluster: home, namespace: shop}}\n"
        "apps: {web: {images: [r.example/web], manifests: {path: apps/web}}}\n"
    )
    monkeypatch.delenv("SHIPLANE_IN_CLUSTER", raising=False)
    monkeypatch.setenv("SHIPLANE_SERVICEACCOUNT_DIR", str(tmp_path))
    assert in_cluster_warnings(project) == [
        f"cluster home is inCluster but no service account token is in {tmp_path} "
        "(run in a pod, or set SHIPLANE_SERVICEACCOUNT_DIR)"
    ]
    _account(tmp_path)
    assert in_cluster_warnings(project) == []
    assert in_cluster_warnings(None) == []
