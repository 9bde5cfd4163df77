"""Fixtures of the apply/prune integration tests: an async client per test (lightkube's
AsyncClient is bound to the event loop that created it) on the session's cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from lightkube import AsyncClient

from shiplane.kube.apply import Applier
from shiplane.kube.connection import connect
from shiplane.kube.discovery import Discovery
from shiplane.localcluster.cluster import ClusterState


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def aclient(cluster: ClusterState) -> AsyncIterator[AsyncClient]:
    client = connect(cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def applier(aclient: AsyncClient) -> Applier:
    return Applier(aclient, Discovery(aclient), crd_timeout=60, delete_timeout=90)
