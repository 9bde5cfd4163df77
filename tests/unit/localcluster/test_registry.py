"""The local registry's PID safety and htpasswd line (the registry itself runs in the
integration tests of sources and in the demo)."""

from __future__ import annotations

import os
from pathlib import Path

from shiplane.localcluster.registry import PID_FILE, htpasswd_line, stop_registry_in


def test_stopping_by_pid_file_leaves_a_pid_that_runs_something_else(tmp_path: Path) -> None:
    assert stop_registry_in(tmp_path) is False  # no PID file: nothing ran here
    (tmp_path / PID_FILE).write_text("not a pid\n")
    assert stop_registry_in(tmp_path) is False
    # Our own PID: alive, but its command line is not this registry's config.
    (tmp_path / PID_FILE).write_text(f"{os.getpid()}\n")
    assert stop_registry_in(tmp_path) is False


def test_the_htpasswd_line_is_bcrypt_for_the_user() -> None:
    line = htpasswd_line("ci", "pw")
    user, hashed = line.rstrip("\n").split(":", 1)
    assert user == "ci" and hashed.startswith("$2") and "pw" not in hashed
    cheap = htpasswd_line("ci", "pw", rounds=16).split(":", 1)[1]
    assert cheap.split("$")[2] == "04"  # bcrypt cost 4 (2**4 rounds)
