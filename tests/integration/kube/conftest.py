"""Fixtures of the apply/prune integration tests: an Applier on the per-test async
client (`aclient`, tests/support/clusters.py) of the session's cluster."""

from __future__ import annotations

import pytest
from lightkube import AsyncClient

from shiplane.kube.apply import Applier
from shiplane.kube.discovery import Discovery


@pytest.fixture
async def applier(aclient: AsyncClient) -> Applier:
    return Applier(aclient, Discovery(aclient), crd_timeout=60, delete_timeout=90)
