"""In-cluster mode: the home cluster through the service account of the pod Shiplane runs in.

The kubelet projects the account's token, the cluster's CA and the namespace into a
directory (`/var/run/secrets/kubernetes.io/serviceaccount`) and rotates the token before
it expires (the projected token lives about an hour), swapping the directory's `..data`
link. The token is therefore read per request when the file changed (its inode, size or
modification time), and once more when the API server answers 401: a rotated token is
used from the next request on, without a restart.

Environment (each may be overridden, so that tests and odd set-ups can point elsewhere):

- `SHIPLANE_SERVICEACCOUNT_DIR` (default `/var/run/secrets/kubernetes.io/serviceaccount`):
  the directory holding `token`, `ca.crt` and `namespace`;
- `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT` (set by the kubelet): the API server;
- `SHIPLANE_KUBERNETES_SERVER`: the API server's URL, winning over host and port;
- `SHIPLANE_IN_CLUSTER=1`: Shiplane runs in a pod even without the directory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx2

from shiplane.domain.errors import InvalidError

SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DIR_ENV = "SHIPLANE_SERVICEACCOUNT_DIR"
SERVER_ENV = "SHIPLANE_KUBERNETES_SERVER"
IN_CLUSTER_ENV = "SHIPLANE_IN_CLUSTER"


class InClusterUnavailableError(InvalidError):
    """`inCluster: true`, but no service account (or no API server address) is found."""


@dataclass(frozen=True)
class ServiceAccountMount:
    """Where the pod's service account and API server are, as the environment says."""

    directory: Path
    server: str

    @property
    def token_file(self) -> Path:
        return self.directory / "token"

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def namespace(self) -> str | None:
        path = self.directory / "namespace"
        return path.read_text().strip() if path.is_file() else None


def service_account_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(DIR_ENV) or SERVICEACCOUNT_DIR)


def running_in_cluster(env: Mapping[str, str] | None = None) -> bool:
    """Whether Shiplane runs in a pod: `SHIPLANE_IN_CLUSTER=1`, or a service account token
    is mounted where the kubelet puts it (or where `SHIPLANE_SERVICEACCOUNT_DIR` says)."""
    env = os.environ if env is None else env
    if env.get(IN_CLUSTER_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    return (service_account_dir(env) / "token").is_file()


def mount(env: Mapping[str, str] | None = None) -> ServiceAccountMount:
    """The service account directory and API server; InClusterUnavailableError naming what
    is missing and which variable to set."""
    env = os.environ if env is None else env
    directory = service_account_dir(env)
    missing = [name for name in ("token", "ca.crt") if not (directory / name).is_file()]
    if missing:
        raise InClusterUnavailableError(
            f"in-cluster mode: no service account {' and '.join(missing)} in {directory}",
            hint=f"run in a pod with a service account token mounted, or set {DIR_ENV}",
        )
    server = env.get(SERVER_ENV, "").strip()
    if not server:
        host = env.get("KUBERNETES_SERVICE_HOST", "").strip()
        port = env.get("KUBERNETES_SERVICE_PORT", "").strip() or "443"
        if not host:
            raise InClusterUnavailableError(
                "in-cluster mode: the API server is unknown (KUBERNETES_SERVICE_HOST unset)",
                hint=f"run in a pod, or set KUBERNETES_SERVICE_HOST/PORT or {SERVER_ENV}",
            )
        server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return ServiceAccountMount(directory, server.rstrip("/"))


class RotatingTokenAuth(httpx2.Auth):
    """A bearer token read from a file, read again when the file changed and once more
    after a 401 (the kubelet may have rotated it between the check and the request)."""

    def __init__(self, token_file: Path) -> None:
        self.token_file = token_file
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._bearer = ""
        self.reads = 0  # how often the file was read (tests and the rotation log)

    def _fresh(self, force: bool = False) -> str:
        with self._lock:
            st = self.token_file.stat()  # follows the kubelet's ..data link
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if force or stamp != self._stamp:
                self._bearer = f"Bearer {self.token_file.read_text().strip()}"
                self._stamp = stamp
                self.reads += 1
            return self._bearer

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        sent = request.headers["Authorization"] = self._fresh()
        response = yield request
        if response.status_code == 401 and self._fresh(force=True) != sent:
            request.headers["Authorization"] = self._bearer
            yield request


__all__ = [
    "DIR_ENV",
    "IN_CLUSTER_ENV",
    "SERVER_ENV",
    "SERVICEACCOUNT_DIR",
    "InClusterUnavailableError",
    "RotatingTokenAuth",
    "ServiceAccountMount",
    "mount",
    "running_in_cluster",
    "service_account_dir",
]
