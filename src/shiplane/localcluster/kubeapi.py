"""A minimal HTTP client for a local cluster's apiserver, used while bringing it up.

The product talks to clusters through lightkube; bring-up only needs a few raw calls
(readiness, creating Nodes, reading a ServiceAccount) before any kubeconfig consumer runs.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx


class KubeAPI:
    def __init__(self, server: str, token: str, ca_file: Path) -> None:
        self._client = httpx.Client(
            base_url=server,
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=str(ca_file)),
            timeout=10.0,
        )

    def close(self) -> None:
        self._client.close()

    def get(self, path: str) -> dict[str, Any] | None:
        """GET a resource; None when it does not exist (404)."""
        resp = self._client.get(path)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    def create(self, path: str, body: dict[str, Any]) -> None:
        """POST a resource; an existing one (409) counts as success."""
        resp = self._client.post(path, json=body)
        if resp.status_code != 409:
            resp.raise_for_status()


def node_manifest(name: str) -> dict[str, Any]:
    """A fake Node that kwok manages (no taint, so ordinary workloads schedule on it)."""
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def is_node_ready(node: dict[str, Any]) -> bool:
    for cond in node.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False
