"""Connections to clusters: one lightkube async client per (kubeconfig, context), or the
pod's service account in in-cluster mode (kube/in_cluster.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lightkube import AsyncClient, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.config.models import Cluster, User

from shiplane.kube import in_cluster as pod
from shiplane.kube.apply_rest import http_of
from shiplane.kube.credentials import token_expiry

FIELD_MANAGER = "shiplane"


@dataclass(frozen=True)
class ConnectionInfo:
    """What a connection is, for people (`cluster list`, `/api/v1/clusters`): never the
    credentials themselves."""

    server: str
    auth: str
    """`serviceaccount` (in-cluster), `token`, `client-certificate`, `exec`, `basic`, `none`."""
    token_expires: str | None = None
    """The bearer token's expiry (RFC 3339) when it is a JWT that says so."""
    namespace: str | None = None
    warnings: list[str] = field(default_factory=list)


def _single(kubeconfig: Path | None, context: str | None, in_cluster_mode: bool) -> SingleConfig:
    if in_cluster_mode:
        sa = pod.mount()
        config = KubeConfig.from_one(
            cluster=Cluster(server=sa.server, certificate_auth=str(sa.ca_file)),
            user=User(token_file=str(sa.token_file)),
            namespace=sa.namespace,
        )
    else:
        if kubeconfig is None:
            raise ValueError("a kubeconfig path is required unless in_cluster is set")
        config = KubeConfig.from_file(str(kubeconfig.expanduser()))
    single = config.get(context_name=context)
    if single is None:
        raise ValueError(f"context {context!r} not found in kubeconfig {kubeconfig}")
    return single


def connect(
    kubeconfig: Path | None, context: str | None = None, *, in_cluster: bool = False
) -> AsyncClient:
    """An async client with Shiplane's field manager. `in_cluster` uses the pod's service
    account (its token re-read when rotated); otherwise the kubeconfig file (and context,
    default: its current one)."""
    single = _single(kubeconfig, context, in_cluster)
    client = AsyncClient(single, field_manager=FIELD_MANAGER)
    token_file = single.user.token_file if single.user else None
    if token_file:
        # lightkube re-reads a token file only after a 401; this also notices a rotation
        # before the old token expires (kube/in_cluster.py).
        http_of(client).auth = pod.RotatingTokenAuth(Path(token_file))
    return client


def describe(
    kubeconfig: Path | None, context: str | None = None, *, in_cluster: bool = False
) -> ConnectionInfo:
    """The server and kind of credentials of a connection (reads the files once)."""
    single = _single(kubeconfig, context, in_cluster)
    user = single.user
    token: str | None = None
    if in_cluster:
        auth = "serviceaccount"
        token = pod.mount().token_file.read_text().strip()
    elif user is None:
        auth = "none"
    elif user.token or user.token_file:
        auth = "token"
        token = user.token or Path(user.token_file or "").read_text().strip()
    elif user.client_cert or user.client_cert_data:
        auth = "client-certificate"
    elif user.exec is not None:
        auth = "exec"
    elif user.username:
        auth = "basic"
    else:
        auth = "none"
    return ConnectionInfo(
        server=single.cluster.server,
        auth=auth,
        token_expires=token_expiry(token) if token else None,
        namespace=single.namespace,
    )
