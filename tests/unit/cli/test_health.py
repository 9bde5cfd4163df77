"""`shiplane health -f FILE`: the engine's health rules on objects in a file, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SHIPLANE = Path(sys.executable).with_name("shiplane")

DEGRADED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 2}
spec: {replicas: 2}
status:
  observedGeneration: 2
  replicas: 2
  updatedReplicas: 2
  availableReplicas: 1
  conditions:
  - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: timed out}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
"""

HEALTHY_LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, namespace: shop}
- apiVersion: batch/v1
  kind: Job
  metadata: {name: smoke, namespace: shop, generation: 1}
  status:
    conditions: [{type: Complete, status: "True"}]
"""


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(SHIPLANE), "health", *args], input=stdin, capture_output=True, timeout=60
    )


def test_a_degraded_object_is_named_with_its_reason_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "live.yaml").write_text(DEGRADED)
    result = run("-f", str(tmp_path / "live.yaml"))
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["KIND", "NAME", "HEALTH", "REASON", "MESSAGE"]
    assert lines[1].split()[:4] == ["Deployment", "web", "Degraded", "ProgressDeadlineExceeded"]
    assert lines[2].split()[:3] == ["ConfigMap", "cfg", "Healthy"]
    assert b"Degraded: Deployment/shop/web: timed out" in result.stderr


def test_a_list_from_stdin_in_json_and_exit_0() -> None:
    result = run("-f", "-", "-o", "json", stdin=HEALTHY_LIST.encode())
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "Healthy"
    assert [r["ref"]["name"] for r in report["resources"]] == ["a", "smoke"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"kind: ConfigMap\n\x00\n", b"bad.yaml:2:1: a NUL byte"),
        (b"kind: ConfigMap\nname: caf\xe9\n", b"bad.yaml:2:10: not UTF-8 text"),
        (b"kind: [unclosed\n", b"bad.yaml:2:1: "),
        (b"- a\n- list\n", b"document 1 is not a Kubernetes object"),
        (b"", b"no Kubernetes objects"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, content: bytes, message: bytes
) -> None:
    (tmp_path / "bad.yaml").write_bytes(content)
    result = run("-f", str(tmp_path / "bad.yaml"))
    assert result.returncode == 2
    assert message in result.stderr
    assert b"Traceback" not in result.stderr


def test_env_and_file_together_or_neither_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "live.yaml").write_text(DEGRADED)
    assert run("prod", "-f", str(tmp_path / "live.yaml")).returncode == 2
    neither = run()
    assert neither.returncode == 2 and b"give ENV [APP], or -f FILE" in neither.stderr
