"""Starting, waiting for and stopping a detached process by its recorded PID (the demo's
Prometheus and the local registry share these)."""

from __future__ import annotations

import sys
from pathlib import Path

from shiplane.localcluster import procs


def test_wait_ready_says_ready_exited_or_timed_out(tmp_path: Path) -> None:
    long = procs.start_process(
        [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "a.log"
    )
    try:
        assert procs.wait_ready(long, lambda: True, timeout=5) == "ready"
        assert procs.wait_ready(long, lambda: False, timeout=0.2, interval=0.05) == "timed out"
    finally:
        procs.stop_process(long, must_contain="time.sleep(30)")
    short = procs.start_process([sys.executable, "-c", "pass"], tmp_path / "b.log")
    assert procs.wait_ready(short, lambda: False, timeout=30, interval=0.05) == "exited"


def test_stop_recorded_stops_only_the_process_it_recorded(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    argv = [sys.executable, "-c", "import sys, time; time.sleep(30)", marker]
    pid = procs.start_process(argv, tmp_path / "c.log")
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{pid}\n")
    assert not procs.stop_recorded(pid_file, must_contain="something else")
    assert procs.is_alive(pid)
    assert procs.stop_recorded(pid_file, must_contain=marker)
    assert not procs.is_alive(pid)
    assert not procs.stop_recorded(tmp_path / "missing.pid", must_contain=marker)
