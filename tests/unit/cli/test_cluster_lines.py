"""Clusters in `shiplane status` and `/readyz`: only the ones with a problem, with why."""

from __future__ import annotations

from shiplane.api.routes_ops import clusters_detail
from shiplane.cli.cmd_cluster import entry_yaml
from shiplane.cli.cmd_status import cluster_lines
from shiplane.engine.clusters import ClusterStatus


def test_status_names_clusters_with_a_problem() -> None:
    matrix = {
        "clusters": [
            {"name": "ok", "reachable": True, "reason": None},
            {"name": "prod", "reachable": False, "reason": "credentials rejected (401)"},
            {"name": "stg", "reachable": True, "reason": "missing permissions in shop: patch x"},
        ]
    }
    assert cluster_lines(matrix) == [
        "CLUSTER prod not reachable: credentials rejected (401)",
        "CLUSTER stg degraded: missing permissions in shop: patch x",
    ]
    assert cluster_lines({}) == []


def test_readyz_detail_separates_unreachable_and_degraded() -> None:
    def status(name: str, reachable: bool, reason: str | None) -> ClusterStatus:
        return ClusterStatus(name, None, None, None, None, reachable, reason)

    found = [status("b", True, "missing permissions in shop: patch x"), status("a", False, None)]
    assert clusters_detail(found) == (
        "clusters not reachable: a; clusters degraded: b (missing permissions in shop: patch x)"
    )


def test_the_printed_entry_names_the_file_never_the_token() -> None:
    text = entry_yaml("prod", "/home/me/.cache/shiplane/registered/prod/kubeconfig", ["a", "b"])
    assert text == (
        "clusters:\n  prod:\n    kubeconfig: /home/me/.cache/shiplane/registered/prod/kubeconfig\n"
        "    namespaces: [a, b]\n"
    )
