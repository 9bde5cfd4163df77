"""`build_all` with everything cached answers at once, without the build lock: a test
session never waits behind another process building an optional component."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

import pytest

from shiplane.localcluster import build
from shiplane.localcluster.components import COMPONENTS


def _fake_cache(base: Path) -> None:
    for c in COMPONENTS:
        d = build.component_dir(c, base)
        d.mkdir(parents=True)
        for b in c.binaries:
            (d / b.name).write_text("")
        (d / build.STAMP).write_text("{}\n")


def test_all_cached_returns_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    _fake_cache(tmp_path)
    results: list[build.BuildResult] = []
    with open(tmp_path / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a concurrent `localcluster build --with X`
        worker = threading.Thread(
            target=lambda: results.extend(build.build_all(base=tmp_path, progress=lambda _: None)),
            daemon=True,
        )
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), "build_all waited for the lock with nothing to build"
    assert [r.component for r in results] == list(COMPONENTS)
    assert all(r.cached for r in results)


def test_something_to_build_takes_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cache(tmp_path)
    missing = COMPONENTS[0]
    (build.component_dir(missing, tmp_path) / build.STAMP).unlink()
    built: list[str] = []
    monkeypatch.setattr(build, "go_version", lambda: (1, 26))
    monkeypatch.setattr(build, "_build_component", lambda c, base, progress: built.append(c.name))
    with open(tmp_path / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(
            target=lambda: build.build_all(base=tmp_path, progress=lambda _: None), daemon=True
        )
        worker.start()
        worker.join(timeout=1)
        assert worker.is_alive(), "build_all built without the lock"
    worker.join(timeout=10)
    assert not worker.is_alive() and built == [missing.name]
