"""The container image of `make image`, end to end (marker `image`; docs/image.md).

Built by scripts/build_image.py (about a minute with the Debian base cached, five without),
pushed with skopeo to the real local OCI registry (Debian's docker-registry, TLS and
htpasswd), pulled back into a second OCI layout, unpacked by umoci, then run with chroot
as the image's own user: `shiplane --version`, `shiplane init` and `shiplane validate`.
Root is needed (debootstrap, chroot); the test is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.oci_registry import OciRegistry, free_port
from tests.support.wait import wait_for

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[3]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
TOOLS = ("umoci", "skopeo", "debootstrap", "chroot")
FORBIDDEN = ("gcc", "cc", "cpp", "c++", "g++", "clang", "apt", "apt-get", "dpkg", "dpkg-deb")
USERSPEC = "10001:10001"


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def read_blob(layout: Path, digest: str) -> dict[str, Any]:
    algorithm, _, hexdigest = digest.partition(":")
    data: dict[str, Any] = json.loads((layout / "blobs" / algorithm / hexdigest).read_text())
    return data


def manifest_digest(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == VERSION
    return str(entry["digest"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The image as an OCI layout, and what the build printed."""
    if os.geteuid() != 0:
        pytest.skip("building and chrooting into the image needs root")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `scripts/ensure-system-deps.sh image`")
    layout = tmp_path_factory.mktemp("image") / "layout"
    done = run(sys.executable, str(REPO / "scripts/build_image.py"), "--json",
               "--output", str(layout), cwd=REPO)  # fmt: skip
    return layout, json.loads(done.stdout)


@pytest.fixture(scope="module")
def pulled(
    built: tuple[Path, dict[str, Any]],
    oci_registry: OciRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The image pushed to the registry and pulled back into a fresh OCI layout."""
    layout, _ = built
    work = tmp_path_factory.mktemp("pulled")
    certs = work / "certs"
    certs.mkdir()
    shutil.copyfile(oci_registry.ca_file, certs / "ca.crt")
    creds = f"{oci_registry.user}:{oci_registry.password}"
    ref = f"docker://{oci_registry.host}/shiplane:{VERSION}"
    skopeo = ("skopeo", "--insecure-policy", "copy")
    run(*skopeo, "--dest-creds", creds, "--dest-cert-dir", str(certs),
        f"oci:{layout}:{VERSION}", ref)  # fmt: skip
    back = work / "layout"
    run(*skopeo, "--src-creds", creds, "--src-cert-dir", str(certs),
        ref, f"oci:{back}:{VERSION}")  # fmt: skip
    return back


@pytest.fixture(scope="module")
def rootfs(pulled: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pulled image unpacked, with the /dev nodes a container runtime would provide."""
    bundle = tmp_path_factory.mktemp("bundle") / "bundle"
    run("umoci", "unpack", "--image", f"{pulled}:{VERSION}", str(bundle))
    root = bundle / "rootfs"
    for name, minor in (("null", 3), ("zero", 5), ("urandom", 9)):
        run("mknod", "-m", "666", str(root / "dev" / name), "c", "1", str(minor))
    return root


def image_config(layout: Path) -> dict[str, Any]:
    manifest = read_blob(layout, manifest_digest(layout))
    return read_blob(layout, manifest["config"]["digest"])


def image_env(config: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config["config"]["Env"])


def in_image(root: Path, config: dict[str, Any], *args: str) -> str:
    """Run `args` inside the image as its user, with the image's environment."""
    chroot = ("chroot", f"--userspec={USERSPEC}", str(root))
    return run(*chroot, *args, env=image_env(config), cwd=root).stdout


def test_build_prints_the_digest_of_the_layout(built: tuple[Path, dict[str, Any]]) -> None:
    layout, result = built
    assert result["digest"] == manifest_digest(layout)
    assert 0 < result["compressed_bytes"] < result["unpacked_bytes"]


def test_pull_returns_the_same_image(built: tuple[Path, dict[str, Any]], pulled: Path) -> None:
    assert manifest_digest(pulled) == manifest_digest(built[0])


def test_config_runs_shiplane_serve_as_non_root(pulled: Path) -> None:
    config = image_config(pulled)["config"]
    assert config["User"] == USERSPEC
    assert config["Entrypoint"] == ["shiplane"]
    assert config["Cmd"] == ["serve", "--listen", "0.0.0.0:8080"]


def test_no_compiler_and_no_package_manager(rootfs: Path) -> None:
    present = [
        f"/{d}/{name}"
        for d in ("usr/bin", "usr/sbin", "usr/local/bin", "opt/shiplane/bin")
        for name in FORBIDDEN
        if (rootfs / d / name).exists() or (rootfs / d / name).is_symlink()
    ]
    assert present == []
    assert not list((rootfs / "usr/lib").glob("gcc*"))
    assert not (rootfs / "etc/apt").exists()


def test_shiplane_runs_in_the_image_as_its_user(rootfs: Path, pulled: Path) -> None:
    config = image_config(pulled)
    assert in_image(rootfs, config, "id", "-u").strip() == "10001"
    assert VERSION in in_image(rootfs, config, "shiplane", "--version")
    # The image's python is Debian's 3.11, the venv's interpreter.
    assert in_image(rootfs, config, "python", "-c", "import sys; print(sys.version)")[:4] == "3.11"
    in_image(rootfs, config, "shiplane", "init", "/home/shiplane/project")
    out = in_image(rootfs, config, "shiplane", "validate", "/home/shiplane/project")
    assert out.startswith("ok: ")
    for tool in ("git", "helm", "kustomize", "ssh"):
        assert in_image(rootfs, config, "sh", "-c", f"command -v {tool}").strip()


def test_the_server_starts_in_the_image(rootfs: Path, pulled: Path) -> None:
    """`shiplane serve` as the image's user (on loopback here, not the Cmd's 0.0.0.0)."""
    config = image_config(pulled)
    port = free_port()
    server = subprocess.Popen(
        ["chroot", f"--userspec={USERSPEC}", str(rootfs), "shiplane", "serve",
         "--listen", f"127.0.0.1:{port}"],
        env=image_env(config), cwd=rootfs,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:

        def healthy() -> bool:
            assert server.poll() is None, "the server exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=60, what="/healthz of the server in the image")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert server.returncode is not None
    # Its state went to the user's home, the only place it may write.
    assert (rootfs / "home/shiplane/.local/share/shiplane").is_dir(), output
