"""Session-scoped real local clusters shared by tests, and a fresh namespace per test.

Clusters live under a temporary SHIPLANE_HOME so tests never touch a user's clusters; the
binaries come from the normal cache (built once by `make test`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from shiplane.kube.connection import connect
from shiplane.localcluster import addons
from shiplane.localcluster import cluster as lc
from shiplane.localcluster.build import build_all
from tests.support.wait import wait_for


@pytest.fixture(scope="session")
def shiplane_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("shiplane-home")
    previous = os.environ.get("SHIPLANE_HOME")
    os.environ["SHIPLANE_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("SHIPLANE_HOME", None)
    else:
        os.environ["SHIPLANE_HOME"] = previous


@pytest.fixture(scope="session")
def cluster_binaries() -> None:
    build_all(progress=lambda _line: None)  # a no-op when cached, as under `make test`


def _session_cluster(name: str) -> Iterator[lc.ClusterState]:
    state = lc.up(name, nodes=2, progress=lambda _line: None)
    try:
        yield state
    finally:
        lc.down(name, progress=lambda _line: None)


@pytest.fixture(scope="session")
def cluster(shiplane_home: Path, cluster_binaries: None) -> Iterator[lc.ClusterState]:
    """The primary shared cluster of the test session."""
    yield from _session_cluster("test-a")


@pytest.fixture(scope="session")
def second_cluster(shiplane_home: Path, cluster_binaries: None) -> Iterator[lc.ClusterState]:
    """A second, independent cluster (multi-cluster tests)."""
    yield from _session_cluster("test-b")


def install_gateway_api(state: lc.ClusterState) -> None:
    """The Gateway API standard CRDs (pinned module, `localcluster up --with gateway-api`),
    Established and served by discovery when this returns; a no-op apply when present."""
    addons.install(state, addons.resolve(["gateway-api"]), progress=lambda _line: None)


@pytest.fixture(scope="session")
def gateway_api(cluster: lc.ClusterState) -> lc.ClusterState:
    """The primary cluster with the Gateway API CRDs installed: a test of HTTPRoutes asks
    for this fixture and keeps using `kube`, `aclient` and `namespace` of the same cluster
    (no extra control plane; other tests do not mind the extra CRDs)."""
    install_gateway_api(cluster)
    return cluster


def kube_client(state: lc.ClusterState) -> Client:
    return Client(KubeConfig.from_file(str(state.kubeconfig)), field_manager="shiplane-tests")


@pytest.fixture(scope="session")
def kube(cluster: lc.ClusterState) -> Client:
    """A lightkube client for the primary cluster."""
    return kube_client(cluster)


@pytest.fixture
async def aclient(cluster: lc.ClusterState) -> AsyncIterator[AsyncClient]:
    """An async client of the primary cluster, per test: lightkube's AsyncClient is bound
    to the event loop that created it."""
    client = connect(cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


def make_namespace(kube: Client, prefix: str) -> str:
    """A fresh namespace `<prefix>-<random>` in the cluster of `kube`, ready for pods."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name)))
    # ServiceAccount admission rejects pods until the namespace's default SA exists.
    wait_for(
        lambda: kube.get(ServiceAccount, "default", namespace=name),
        timeout=30,
        what=f"default ServiceAccount in {name}",
    )
    return name


@pytest.fixture
def namespace(kube: Client) -> Iterator[str]:
    """A fresh namespace per test in the primary cluster, deleted afterwards."""
    name = make_namespace(kube, "t")
    yield name
    kube.delete(Namespace, name)
