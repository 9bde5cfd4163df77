"""Fixtures of the chart tests: the real helm binary with its own homes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.chart.chart import Helm


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm for lint and template (no cluster). The binary `shiplane localcluster build`
    made (`make test` builds it first); not built here, so these tests never wait on a
    build another process holds the lock of."""
    tool = Helm(tmp_path_factory.mktemp("helm-home"))
    assert tool.binary.is_file(), f"no helm at {tool.binary}: run `shiplane localcluster build`"
    return tool


@pytest.fixture
def helm_home(tmp_path: Path) -> Path:
    home = tmp_path / "helm-home"
    home.mkdir()
    return home
