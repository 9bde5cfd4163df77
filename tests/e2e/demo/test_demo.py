"""`shiplane demo` (what `make demo` runs): the whole story through the API and CLI, from
CI's push to a local OCI registry (no API call from CI), through a canary in staging whose
analysis waits for a metric in a real Prometheus, to the rollback in staging."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.cluster
SHIPLANE = str(Path(sys.executable).parent / "shiplane")


def _running_under(root: Path, program: str) -> list[int]:
    """PIDs of `program` (docker-registry, prometheus) still running with a config under
    `root`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if program in cmdline and str(root) in cmdline:
            found.append(int(proc.name))
    return found


def test_demo_runs_the_story_and_stops_cleanly(tmp_path: Path, cluster_binaries: None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env["SHIPLANE_HOME"] = str(tmp_path / "home")
    try:
        run = subprocess.run(
            [SHIPLANE, "demo"], env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        out = run.stdout
        # CI only pushes; the registry's notification brings the release into dev.
        assert "and makes no Shiplane API call" in out
        assert (
            "the registry notified Shiplane (POST /api/v1/hooks/registry, "
            "matched sources ['podinfo']); source podinfo found 1.0.0" in out
        )
        assert re.search(r"release \S+ arrived in dev [\d.]+s after the push", out)
        assert "1.1.0's artifacts are marked unresolved" in out
        assert "alice tries to approve her own request: refused" in out
        assert "cannot approve" in out  # separation of duties, not a role error
        assert ": RolledBack (rolled back by prm-" in out
        # prod's own soak holds it: explain shows it counting down (issue 12).
        assert "  - soak: soaking in staging: 20s after verification, until " in out
        assert "s left" in out
        assert out.count("Healthy/Synced") >= 6
        # 1.0.1 reaches staging by a canary; its analysis waits for Prometheus to have
        # scraped the canary's weight from Shiplane's /metrics, then passes.
        assert "source podinfo found 1.0.1" in out
        assert (
            "canary step 1/4: setWeight 25 -> succeeded: web-canary 1 beside 3 stable (25%)" in out
        )
        assert "canary 25%" in out  # shiplane status during the canary
        assert re.search(
            r"analysis canary-weight: check canary-weight: [1-9] passed, .*last: result "
            r"\[25\.0\]: success condition 'result\[0\] >= 25' is true",
            out,
        )
        assert "canary step 2/4: analysis canary-weight -> succeeded" in out
        assert "canary step 3/4: setWeight 50 -> succeeded: web-canary 3 beside 3 stable" in out
        assert "canary step 4/4: pause 5s -> succeeded" in out
        assert "removed web-canary" in out
        assert "the canary passed its steps" in out

        # The server keeps running: the CLI works against it as the demo says.
        server = next(
            line.split("SHIPLANE_SERVER=")[1].split()[0]
            for line in out.splitlines()
            if "SHIPLANE_SERVER=" in line
        )
        token = next(
            line.split("SHIPLANE_TOKEN=")[1].split()[0]
            for line in out.splitlines()
            if "SHIPLANE_TOKEN=" in line
        )
        # ... and the web UI, at the address the demo prints.
        assert f"Web UI: {server}/ui/ " in out
        sign_in_page = httpx.get(f"{server}/ui/", follow_redirects=True, timeout=30)
        assert sign_in_page.status_code == 200 and 'name="token"' in sign_in_page.text
        cli_env = {**env, "SHIPLANE_SERVER": server, "SHIPLANE_TOKEN": token}
        listed = subprocess.run(
            [SHIPLANE, "promotion", "list", "-o", "json"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        states = {
            (p["environment"], p["kind"], p["state"]) for p in json.loads(listed.stdout)["items"]
        }
        assert ("prod", "normal", "Succeeded") in states
        assert ("staging", "rollback", "Succeeded") in states
        assert ("staging", "normal", "RolledBack") in states
        verify = subprocess.run(
            [SHIPLANE, "audit", "verify"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        shown = subprocess.run(
            [SHIPLANE, "source", "show", "podinfo", "-o", "json"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        source = json.loads(shown.stdout)
        assert source["healthy"] is True and source["version"] == "1.0.1"
        assert source["last_release"] and source["digest"].startswith("sha256:")
        canary_id = re.search(r"shiplane promotion show (prm-\S+)", out)
        assert canary_id, out[-2000:]
        canary = subprocess.run(
            [SHIPLANE, "promotion", "show", canary_id.group(1), "-o", "json"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        shown_canary = json.loads(canary.stdout)
        assert shown_canary["promotion"]["state"] == "Succeeded"
        assert shown_canary["promotion"]["data"]["strategy"]["phase"] == "done"
        names = [step["name"] for step in shown_canary["steps"]]
        assert "canary step 2/4: analysis canary-weight" in names
    finally:
        stop = subprocess.run(
            [SHIPLANE, "demo", "--stop"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert stop.returncode == 0, stop.stderr
    assert "demo server stopped" in stop.stdout
    assert "demo registry stopped" in stop.stdout
    assert "demo Prometheus stopped" in stop.stdout
    assert not _running_under(tmp_path, "docker-registry")
    assert not _running_under(tmp_path, "prometheus")
    assert not any((tmp_path / "home" / "clusters").glob("*/cluster.json"))
