"""Where local clusters keep their files, as a scaffolded project file names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.localcluster.cluster import ClusterState, cluster_path
from shiplane.localcluster.paths import PORTABLE_HOME, kubeconfig_in, shiplane_home


def test_default_home_is_portable() -> None:
    assert kubeconfig_in(PORTABLE_HOME, "dev") == "~/.cache/shiplane/clusters/dev/kubeconfig"


def test_portable_home_is_the_default_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPLANE_HOME", raising=False)
    assert Path(PORTABLE_HOME).expanduser() == shiplane_home()


def test_kubeconfig_in_names_the_file_a_cluster_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPLANE_HOME", str(tmp_path))
    state = ClusterState(name="prod", directory=str(cluster_path("prod")), nodes=1)
    assert kubeconfig_in(str(shiplane_home()), "prod") == str(state.kubeconfig)
