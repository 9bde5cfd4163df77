"""Where local-cluster binaries and cluster state live on disk.

Binaries are a cache shared by every cluster and every checkout, keyed by component and
version, so that a cold Go build happens once per machine. Cluster state (data, logs,
kubeconfig) lives per cluster under the Shiplane home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

# The default home as a project file should spell it: with `~`, a scaffolded shiplane.yaml
# stays portable between users.
PORTABLE_HOME = "~/.cache/shiplane"


def shiplane_home() -> Path:
    """`$SHIPLANE_HOME`, default `~/.cache/shiplane`: local clusters live below it."""
    raw = os.environ.get("SHIPLANE_HOME")
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "shiplane"


def bin_cache_dir() -> Path:
    """`$SHIPLANE_BIN_DIR`, default `~/.cache/shiplane/bin`: built binaries, by component."""
    raw = os.environ.get("SHIPLANE_BIN_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "shiplane" / "bin"


def clusters_dir() -> Path:
    """Directory holding one sub-directory per local cluster."""
    return shiplane_home() / "clusters"


def kubeconfig_in(home: str, cluster: str) -> str:
    """The kubeconfig of local cluster `cluster` under the Shiplane home `home`, as text for
    a project file (`home` may start with `~`; see `ClusterState.kubeconfig`)."""
    return f"{home}/clusters/{cluster}/kubeconfig"
