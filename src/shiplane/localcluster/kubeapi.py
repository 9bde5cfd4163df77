"""A minimal HTTP client for a local cluster's apiserver, used while bringing it up.

The product talks to clusters through lightkube; bring-up only needs a few raw calls
(readiness, creating Nodes, reading a ServiceAccount, applying an add-on's manifests).
"""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import yaml

FIELD_MANAGER = "shiplane-localcluster"


class KubeAPI:
    def __init__(self, server: str, token: str, ca: Path | str) -> None:
        """`ca` is the CA certificate's file, or its PEM text."""
        verify = (
            ssl.create_default_context(cafile=str(ca))
            if isinstance(ca, Path)
            else ssl.create_default_context(cadata=ca)
        )
        self._client = httpx.Client(
            base_url=server,
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=10.0,
        )

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeAPI:
        """A client with the credentials of a local cluster's kubeconfig (as written by `up`:
        one cluster with inline CA data, one token user)."""
        config = yaml.safe_load(path.read_text())
        cluster = config["clusters"][0]["cluster"]
        ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        token = config["users"][0]["user"]["token"]
        return cls(cluster["server"], token, ca_pem)

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, *, accept: str = "application/json") -> dict[str, Any] | None:
        """GET a resource; None when it does not exist (404)."""
        resp = self._client.get(path, headers={"Accept": accept})
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

    def apply(self, path: str, body: dict[str, Any]) -> None:
        """Server-side apply of one object at its path (created or updated, forced: the
        object is owned by this tool). Server-side, so large objects such as CRDs need no
        last-applied annotation."""
        resp = self._client.patch(
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content=json.dumps(body),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
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
