"""Flux for tests: its source-controller and kustomize-controller as local processes
against a local cluster, with the Flux CRDs applied.

`shiplane localcluster build --with flux` builds both controllers from their pinned Go
modules (built here first when they are not cached, as the cluster fixtures do) and takes
their CRDs out of the modules. `start_flux` applies those CRDs to a cluster (waiting until
they are Established and served), creates the controllers' runtime namespace
(`flux-system`) and starts each controller on 127.0.0.1 only:

- source-controller stores artifacts under the handle's `root` and serves them from
  `storage_url` (`--storage-addr` and `--storage-adv-addr` on one loopback port), which is
  the URL it writes into `status.artifact.url` and from which kustomize-controller fetches;
- metrics and health endpoints on loopback ports, leader election off, no notification
  controller (`--events-addr` empty: Kubernetes Events only);
- both watch all namespaces, reach the API server through the cluster's kubeconfig
  (KUBECONFIG) and apply as its admin (no service-account impersonation unless a
  Kustomization asks for one).

Only one Flux should run against a cluster (each watches every namespace). The `flux`
fixture (session-scoped) is the one of the primary `cluster`, `second_flux` the one of
`second_cluster`: tests put their GitRepository and Kustomization in their own namespaces
and clone from the `git_http` server. The processes are stopped by their PIDs at the end
of the session. A fixture plugin of tests/conftest.py; tests that use it carry the `flux`
marker.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace
from lightkube.types import PatchType

from shiplane.localcluster import addons, procs
from shiplane.localcluster import cluster as lc
from shiplane.localcluster.build import build_all, component_dir
from shiplane.localcluster.components import optional_components
from tests.support.clusters import kube_client

__all__ = [
    "RUNTIME_NAMESPACE",
    "ControllerProcess",
    "FluxBinaries",
    "FluxControllers",
    "GitRepository",
    "Kustomization",
    "build_flux",
    "condition",
    "flux",
    "flux_binaries",
    "request_reconcile",
    "second_flux",
    "start_flux",
]

RUNTIME_NAMESPACE = "flux-system"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"

GitRepository = create_namespaced_resource(
    "source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"
)
Kustomization = create_namespaced_resource(
    "kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"
)


@dataclass(frozen=True)
class FluxBinaries:
    """The cached controllers and the folders of their CRDs."""

    source_controller: Path
    kustomize_controller: Path
    crd_dirs: tuple[Path, ...]


@dataclass(frozen=True)
class ControllerProcess:
    """One controller process: stopped by its PID, only while it still runs `binary`."""

    name: str
    pid: int
    binary: Path
    log_path: Path
    health_url: str  # http://127.0.0.1:PORT (/healthz, /readyz)
    metrics_url: str  # http://127.0.0.1:PORT/metrics

    def alive(self) -> bool:
        return procs.is_alive(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        return procs.log_tail(self.log_path, lines)

    def stop(self) -> None:
        procs.stop_process(self.pid, must_contain=str(self.binary), timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class FluxControllers:
    """A running Flux (source-controller and kustomize-controller) against one cluster."""

    cluster: lc.ClusterState
    namespace: str  # the controllers' runtime namespace (created; holds their Events)
    root: Path  # artifact storage (`root/storage`) and the logs
    storage_url: str  # http://127.0.0.1:PORT: where artifacts are served from
    source_controller: ControllerProcess
    kustomize_controller: ControllerProcess

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    @property
    def pids(self) -> tuple[int, int]:
        return (self.source_controller.pid, self.kustomize_controller.pid)

    def logs(self, lines: int = 40) -> str:
        """The tails of both logs, for a failing test's message."""
        return "\n".join(
            f"--- {c.name} ({c.log_path}):\n{c.log_tail(lines)}"
            for c in (self.source_controller, self.kustomize_controller)
        )

    def stop(self) -> None:
        """SIGTERM each controller by its PID, SIGKILL after a deadline."""
        self.kustomize_controller.stop()
        self.source_controller.stop()


def build_flux() -> FluxBinaries:
    """Both controllers, built first when missing (a no-op when cached, as under `make
    test`; a cold build takes minutes)."""
    source, kustomize = optional_components("flux")
    build_all((source, kustomize), progress=lambda _line: None)
    return FluxBinaries(
        source_controller=component_dir(source) / "source-controller",
        kustomize_controller=component_dir(kustomize) / "kustomize-controller",
        crd_dirs=(component_dir(source) / "crds", component_dir(kustomize) / "crds"),
    )


def install_crds(state: lc.ClusterState) -> None:
    """The Flux CRDs of both controllers, Established and served by discovery when this
    returns (the add-on installer's apply and waits; a no-op apply when present)."""
    crds = [
        addons.Addon(c.name, f"Flux {c.name} CRDs", c.name, "crds")
        for c in optional_components("flux")
    ]
    addons.install(state, crds, progress=lambda _line: None)


def _ensure_namespace(kube: Client, name: str) -> None:
    try:
        kube.create(Namespace(metadata=ObjectMeta(name=name)))
    except ApiError as exc:
        if exc.status.code != 409:
            raise


def _start(
    name: str, binary: Path, args: list[str], root: Path, state: lc.ClusterState
) -> ControllerProcess:
    health_port, metrics_port = procs.free_ports(2)
    argv = [
        str(binary),
        f"--health-addr=127.0.0.1:{health_port}",
        f"--metrics-addr=127.0.0.1:{metrics_port}",
        "--enable-leader-election=false",
        "--events-addr=",
        "--watch-all-namespaces=true",
        "--log-level=info",
        *args,
    ]
    # A clean environment: no proxy or cloud settings of the caller leak in; HOME for the
    # git and helm caches the controllers keep.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root / "home"),
        "KUBECONFIG": str(state.kubeconfig),
        "RUNTIME_NAMESPACE": RUNTIME_NAMESPACE,
        "TMPDIR": str(root / "tmp"),
    }
    log_path = root / f"{name}.log"
    pid = procs.start_process(argv, log_path, env=env)
    return ControllerProcess(
        name=name,
        pid=pid,
        binary=binary,
        log_path=log_path,
        health_url=f"http://127.0.0.1:{health_port}",
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
    )


def _wait_ready(controller: ControllerProcess) -> None:
    def ready() -> bool:
        try:
            return httpx.get(f"{controller.health_url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    outcome = procs.wait_ready(controller.pid, ready, timeout=STARTUP_TIMEOUT)
    if outcome != "ready":
        raise AssertionError(
            f"{controller.name} {outcome} before it was ready:\n{controller.log_tail()}"
        )


def start_flux(state: lc.ClusterState, root: Path, binaries: FluxBinaries) -> FluxControllers:
    """Apply the Flux CRDs to `state`'s cluster and start both controllers with `root`
    (an empty folder) for their files; ready (/readyz) when this returns."""
    install_crds(state)
    _ensure_namespace(kube_client(state), RUNTIME_NAMESPACE)
    for folder in ("storage", "home", "tmp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (storage_port,) = procs.free_ports(1)
    storage = f"127.0.0.1:{storage_port}"
    source = _start(
        "source-controller",
        binaries.source_controller,
        [
            f"--storage-path={root / 'storage'}",
            f"--storage-addr={storage}",
            f"--storage-adv-addr={storage}",
        ],
        root,
        state,
    )
    started = [source]
    try:
        _wait_ready(source)
        kustomize = _start(
            "kustomize-controller",
            binaries.kustomize_controller,
            ["--no-remote-bases=true"],
            root,
            state,
        )
        started.append(kustomize)
        _wait_ready(kustomize)
    except BaseException:
        for controller in reversed(started):
            controller.stop()
        raise
    return FluxControllers(state, RUNTIME_NAMESPACE, root, f"http://{storage}", source, kustomize)


def request_reconcile(kube: Client, resource: Any, name: str, namespace: str, when: str) -> None:
    """What `flux reconcile` does: set `reconcile.fluxcd.io/requestedAt` to a new value;
    the controller reconciles now and records it in status.lastHandledReconcileAt."""
    patch = {"metadata": {"annotations": {REQUESTED_AT: when}}}
    # Custom resources take no strategic merge patch.
    kube.patch(resource, name, patch, namespace=namespace, patch_type=PatchType.MERGE)


def condition(obj: Any, kind: str = "Ready") -> dict[str, Any] | None:
    """The status condition `kind` of a Flux object (a lightkube generic resource)."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


@pytest.fixture(scope="session")
def flux_binaries() -> FluxBinaries:
    """The controllers `shiplane localcluster build --with flux` builds."""
    return build_flux()


def _session_flux(state: lc.ClusterState, binaries: FluxBinaries) -> Iterator[FluxControllers]:
    root = Path(tempfile.mkdtemp(prefix=f"shiplane-flux-{state.name}-"))
    try:
        controllers = start_flux(state, root, binaries)
        try:
            yield controllers
        finally:
            controllers.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def flux(cluster: lc.ClusterState, flux_binaries: FluxBinaries) -> Iterator[FluxControllers]:
    """Flux against the primary cluster for the test session, stopped by PID at its end."""
    yield from _session_flux(cluster, flux_binaries)


@pytest.fixture(scope="session")
def second_flux(
    second_cluster: lc.ClusterState, flux_binaries: FluxBinaries
) -> Iterator[FluxControllers]:
    """Flux against the second cluster (`second_cluster`), for pipelines whose
    environments span both; stopped by PID at the end of the session."""
    yield from _session_flux(second_cluster, flux_binaries)
