"""The venv recipe of the Makefile resolves nothing: what it installs is the locks, exactly.

The bug this guards against: the interpreter's bundled pip (23.2.1) re-resolved the
extra-ed requirement `httpx2[http2,ws]` of a locked package and picked a release newer
than the lock, so `make test` depended on the day it ran.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _recipe(target_prefix: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(target_prefix))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_every_install_of_the_venv_is_no_deps_and_hash_checked() -> None:
    recipe = _recipe("$(STAMP):")
    installs = [line for line in recipe if " install " in line and "-r " in line]
    assert [re.search(r"-r (\S+)", line).group(1) for line in installs] == [  # type: ignore[union-attr]
        "requirements-bootstrap.lock",
        "requirements.lock",
    ], "the pinned installers must come first, then the lock"
    for line in installs:
        assert "--no-deps" in line and "--require-hashes" in line, line
    assert "--only-binary=:all:" in installs[1], "an sdist build would fetch build tools"
    assert any(line.endswith("check") for line in recipe), "pip check proves the closure"
    editable = [line for line in recipe if "-e ." in line]
    assert editable and "--no-deps" in editable[0] and "--no-build-isolation" in editable[0]


def test_the_installers_are_pinned_with_hashes() -> None:
    text = (ROOT / "requirements-bootstrap.lock").read_text()
    pins = re.findall(r"^([a-z0-9-]+)==(\S+) \\$", text, re.MULTILINE)
    assert {name for name, _ in pins} == {"pip", "uv"}
    blocks = re.split(r"^(?=[a-z0-9-]+==)", text, flags=re.MULTILINE)[1:]
    assert all("--hash=sha256:" in block for block in blocks)


def test_lock_header_names_the_command_that_regenerates_it() -> None:
    header = (ROOT / "requirements.lock").read_text().splitlines()[:2]
    assert header[1].strip("# ") == "make lock"
    assert any(line.startswith("lock:") for line in (ROOT / "Makefile").read_text().splitlines())


def test_make_demo_asks_only_for_what_the_demo_uses() -> None:
    makefile = (ROOT / "Makefile").read_text().splitlines()
    demo = next(line for line in makefile if line.startswith("demo:"))
    assert "system-deps " not in demo + " ", "the demo must not install the test packages"
    assert _recipe("system-deps-demo:") == ["@scripts/ensure-system-deps.sh demo"]
    script = (ROOT / "scripts" / "ensure-system-deps.sh").read_text()
    test_only = script[script.index('if [ "$profile" = test ]') :].split("fi\n", 1)[0]
    assert "postgresql" in test_only
    # The browser tests' Chromium is for tests only; npm (browser assets) is for both.
    assert "chromium" in test_only and "need npm npm" not in test_only
    assert "need npm npm" in script
    # CI pushes to the OCI registry in the demo: it is for both too.
    assert "docker-registry" not in test_only
    assert "need /usr/bin/docker-registry docker-registry" in script
    # The demo's canary analysis queries a local Prometheus: for both as well.
    assert "prometheus" not in test_only
    assert "need /usr/bin/prometheus prometheus" in script
