"""Holds and freezes are visible: `status` (table and JSON), `holds`, `unhold ENV --all`."""

from __future__ import annotations

from lightkube import Client

from shiplane.localcluster.cluster import ClusterState
from tests.e2e.deploy.conftest import as_json, cli
from tests.support.serverproc import ServerProcess


def test_holds_and_freezes_show_in_status_and_holds(
    served: tuple[ServerProcess, dict[str, str]],
    cluster: ClusterState,
    kube: Client,
) -> None:
    server, _namespaces = served
    for app in ("api", "web"):
        assert cli(server, "hold", "dev", app, "--reason", "investigating").returncode == 0
    frozen = cli(server, "freeze", "prod", "--reason", "year-end")
    assert frozen.returncode == 0, frozen.stderr

    matrix = as_json(cli(server, "status", "-o", "json"))
    assert sorted((h["environment"], h["app"]) for h in matrix["holds"]) == [
        ("dev", "api"),
        ("dev", "web"),
    ]
    assert [(f["environment"], f["reason"]) for f in matrix["freezes"]] == [("prod", "year-end")]

    plain = cli(server, "status", "--no-headers")
    assert plain.returncode == 0, plain.stderr
    rows = {line.split()[0]: line for line in plain.stdout.splitlines() if line.strip()}
    assert "held" in rows["api"] and "held" in rows["web"]
    assert "FROZEN prod (by " in plain.stdout and "year-end" in plain.stdout

    listed = cli(server, "holds", "--no-headers")
    kinds = sorted(tuple(line.split()[:3]) for line in listed.stdout.splitlines())
    assert kinds[:2] == [("freeze", "prod", "-"), ("hold", "dev", "api")]
    assert as_json(cli(server, "holds", "--env", "prod", "-o", "json"))[0]["what"] == "freeze"

    usage = cli(server, "unhold", "dev")
    assert usage.returncode == 2 and "give APP, or --all" in usage.stderr
    lifted = cli(server, "unhold", "dev", "--all")
    assert lifted.returncode == 0, lifted.stderr
    assert sorted(lifted.stdout.split("\n")[:2]) == [
        "hold lifted: api in dev",
        "hold lifted: web in dev",
    ]
    assert as_json(cli(server, "status", "-o", "json"))["holds"] == []
