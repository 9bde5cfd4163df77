"""A kubeconfig file that changes (renewed token, updated Secret) is connected anew; an
unchanged one keeps its connection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shiplane.config import load_project_text
from shiplane.engine.clusters import ClusterPool


def _kubeconfig(path: Path, token: str) -> None:
    text = (
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', "
        "insecure-skip-tls-verify: true}}]\n"
        f"users: [{{name: u, user: {{token: {token}}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)  # as a Secret update or `cluster add` again replaces it


@pytest.mark.anyio
async def test_a_changed_kubeconfig_file_is_connected_anew(tmp_path: Path) -> None:
    config = tmp_path / "prod.kubeconfig"
    _kubeconfig(config, "first")
    project = load_project_text(
        "apiVersion: shiplane/v1alpha1\nproject: shop\n"
        f"clusters: {{prod: {{kubeconfig: {config}, namespaces: [shop]}}}}\n"
        "environments: {dev: {cluster: prod, namespace: shop}}\n"
        "apps: {web: {images: [r.example/web], manifests: {path: apps/web}}}\n"
    )
    pool = ClusterPool(project, tmp_path)
    try:
        first = pool.get("prod")
        assert first.namespaces == ["shop"]
        assert pool.renew_credentials() == []
        assert pool.get("prod") is first
        _kubeconfig(config, "second")
        assert pool.renew_credentials() == ["prod"]
        second = pool.get("prod")
        assert second is not first
        config.unlink()
        assert pool.renew_credentials() == []  # a file half replaced keeps the connection
    finally:
        await pool.close()
