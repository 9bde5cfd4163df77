#!/usr/bin/env python3
"""`make image`: Shiplane's OCI container image, built without Docker.

1. The Debian base (scripts/image_base.py): debootstrap minbase bookworm with Python 3.11,
   git, ssh and the CA bundle at the versions of image/packages.lock, without apt; cached.
2. Shiplane in a venv at /opt/shiplane made by the image's own python3: the run-time part
   of requirements.lock (the closure of Shiplane's dependencies, not the `dev` extra),
   installed inside the chroot with --no-deps --require-hashes --only-binary=:all: and no
   index (pip runs from its pinned wheel and is not installed), then Shiplane's own wheel,
   built here from the checkout; `pip check` proves the closure.
3. helm and kustomize from `shiplane localcluster build` (~/.cache/shiplane/bin) in
   /usr/local/bin; the user `shiplane` (uid and gid 10001) with its home.
4. One layer: a tar sorted by name, owners numeric, no atime/ctime; what this build wrote
   has the mtime SOURCE_DATE_EPOCH (default: the last commit's time), packaged files keep
   theirs; device nodes, /proc and /tmp contents left out. umoci adds it to a new OCI
   image layout with the run-time config (User 10001:10001, ENTRYPOINT shiplane, CMD
   serve --listen 0.0.0.0:8080) and fixed dates.

Prints the manifest digest and the sizes. Same checkout + same lock + same cached base →
same digest (docs/image.md says what else it depends on). Runs as root (chroot).

Usage: build_image.py [--output build/image] [--tag VERSION] [--update-lock]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from image_base import BaseImageError, base_rootfs, run, settle_mtimes
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shiplane.localcluster.build import binary_path

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"
BOOTSTRAP_LOCK = REPO / "requirements-bootstrap.lock"
PACKAGES_LOCK = REPO / "image" / "packages.lock"
VENDOR_FILE = REPO / "src/shiplane/web/static/vendor/htmx.min.js"
UID = GID = 10001
USER = "shiplane"
HOME = f"/home/{USER}"
VENV = "/opt/shiplane"
IMAGE_PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE_ENV = (
    f"PATH={IMAGE_PATH}",
    f"HOME={HOME}",
    "LANG=C.UTF-8",
    "PYTHONUNBUFFERED=1",
    # The root file system is read-only in the chart: byte code is compiled at build time.
    "PYTHONDONTWRITEBYTECODE=1",
    "SHIPLANE_HELM=/usr/local/bin/helm",
    "SHIPLANE_KUSTOMIZE=/usr/local/bin/kustomize",
)
# `shiplane serve` binds 127.0.0.1 unless told otherwise; in a container it must listen on
# the pod's address for the Service and the kubelet's probes.
CMD = ("serve", "--listen", "0.0.0.0:8080")
# Left out of the layer: the runtime provides them.
EXCLUDE = ("./dev/*", "./proc/*", "./sys/*", "./tmp/*", "./var/tmp/*", "./run/*")


class ImageError(RuntimeError):
    """The image could not be built."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def lock_entries(text: str) -> dict[str, str]:
    """Each pin of a `--generate-hashes` lock as its own text (name line and hash lines,
    without the `# via` comments), by canonical name."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            name = re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0]
            current = entries.setdefault(canonicalize_name(name), [])
        if current is not None:
            current.append(line)
    return {name: "\n".join(lines) + "\n" for name, lines in entries.items()}


def runtime_closure(root: str = "shiplane") -> set[str]:
    """Canonical names of what `root` needs at run time (its dependencies with the extras
    they name, no extras of its own), from the metadata of the venv this runs in, which
    `make venv` installed from the lock."""
    needed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for raw in metadata.requires(name) or []:
            req = Requirement(raw)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
                continue
            dep = canonicalize_name(req.name)
            needed.add(dep)
            todo.append((dep, frozenset(req.extras)))
    needed.discard(canonicalize_name(root))
    return needed


def runtime_requirements() -> str:
    entries = lock_entries(LOCK.read_text())
    needed = runtime_closure()
    missing = sorted(needed - entries.keys())
    if missing:
        raise ImageError(f"not pinned in {LOCK.name}: {', '.join(missing)} (run `make lock`)")
    return "".join(entries[name] for name in sorted(needed))


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    cmd = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")


def gather_wheels(wheels: Path, epoch: int) -> None:
    """Download the pinned wheels (hash-checked; pip's cache makes it quick) and build
    Shiplane's."""
    (wheels / "requirements.txt").write_text(runtime_requirements())
    (wheels / "pip.txt").write_text(lock_entries(BOOTSTRAP_LOCK.read_text())["pip"])
    for req in ("requirements.txt", "pip.txt"):
        pip("download", "--no-deps", "--require-hashes", "--only-binary=:all:",
            "--dest", str(wheels), "-r", str(wheels / req))  # fmt: skip
    # Built from a copy: setuptools' build/ in the checkout may hold stale modules.
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "shiplane"
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
        shutil.copytree(REPO / "src", src / "src", ignore=ignore)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, src / name)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
        pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels),
            str(src), env=env)  # fmt: skip


def install_shiplane(root: Path, wheels: Path, epoch: int) -> None:
    inside = Path("/opt/shiplane-wheels")  # in the image, for the install only
    shutil.copytree(wheels, root / inside.relative_to("/"))
    pip_name = next(p.name for p in wheels.glob("pip-*.whl"))
    shiplane_wheel = next(p.name for p in wheels.glob("shiplane-*.whl"))
    env = {"SOURCE_DATE_EPOCH": str(epoch)}  # pip then writes checked-hash .pyc files
    pip_in = (f"{VENV}/bin/python", f"{inside}/{pip_name}/pip", "--quiet", "--no-cache-dir",
              "--disable-pip-version-check", "--no-input")  # fmt: skip
    run("/usr/bin/python3", "-m", "venv", "--without-pip", VENV, root=root)
    run(*pip_in, "install", "--no-index", "--no-deps", "--require-hashes",
        "--only-binary=:all:", "--find-links", str(inside),
        "-r", f"{inside}/requirements.txt", root=root, env=env)  # fmt: skip
    run(*pip_in, "install", "--no-index", "--no-deps", f"{inside}/{shiplane_wheel}",
        root=root, env=env)  # fmt: skip
    run(*pip_in, "check", root=root, env=env)
    shutil.rmtree(root / inside.relative_to("/"))
    (root / "usr/local/bin/shiplane").symlink_to(f"{VENV}/bin/shiplane")


def install_tools(root: Path) -> None:
    """helm and kustomize, as `shiplane localcluster build` made them (static binaries)."""
    for tool in ("helm", "kustomize"):
        path = binary_path(tool, tool)
        if not path.is_file():
            raise ImageError(f"{path} is missing: run `make binaries` first")
        target = root / "usr/local/bin" / tool
        shutil.copyfile(path, target)
        target.chmod(0o755)


def add_user(root: Path) -> None:
    """The non-root user the image runs as; written directly, so no date lands in shadow."""
    etc = root / "etc"
    with (etc / "passwd").open("a") as f:
        f.write(f"{USER}:x:{UID}:{GID}:Shiplane:{HOME}:/usr/sbin/nologin\n")
    with (etc / "group").open("a") as f:
        f.write(f"{USER}:x:{GID}:\n")
    with (etc / "shadow").open("a") as f:
        f.write(f"{USER}:!::0:99999:7:::\n")
    with (etc / "gshadow").open("a") as f:
        f.write(f"{USER}:!::\n")
    home = root / HOME.lstrip("/")
    home.mkdir(mode=0o750)
    os.chown(home, UID, GID)


def check_contents(root: Path) -> None:
    """What must not be in the final layer."""
    forbidden = [
        f"/{d}/{name}"
        for d in ("usr/bin", "usr/sbin", "usr/local/bin")
        for name in ("gcc", "cc", "cpp", "c++", "g++", "clang", "tcc", "apt", "apt-get", "dpkg")
        if (root / d / name).exists()
    ]
    if forbidden:
        raise ImageError(f"the image must not contain {', '.join(forbidden)}")


def make_layer(root: Path, layer: Path) -> None:
    subprocess.run(
        ["tar", "--create", f"--file={layer}", f"--directory={root}", "--sort=name",
         "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
         "--numeric-owner", "--no-xattrs", "--no-acls",
         "--no-selinux", *(f"--exclude={p}" for p in EXCLUDE), "."],
        check=True,
    )  # fmt: skip


def umoci(*args: str) -> None:
    done = subprocess.run(["umoci", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(f"umoci {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def pack(layer: Path, output: Path, tag: str, epoch: int) -> None:
    created = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    image = f"{output}:{tag}"
    shutil.rmtree(output, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    umoci("init", "--layout", str(output))
    umoci("new", "--image", image)
    umoci("raw", "add-layer", "--image", image, "--history.created", created,
          "--history.created_by", "scripts/build_image.py", str(layer))  # fmt: skip
    umoci("config", "--image", image, "--no-history", "--created", created,
          "--architecture", "amd64", "--os", "linux", "--config.user", f"{UID}:{GID}",
          "--config.entrypoint", "shiplane",
          *(a for word in CMD for a in ("--config.cmd", word)),
          "--config.workingdir", HOME, "--config.exposedports", "8080/tcp",
          *(a for e in IMAGE_ENV for a in ("--config.env", e)),
          "--config.label", f"org.opencontainers.image.version={tag}",
          "--config.label", "org.opencontainers.image.title=shiplane",
          "--config.label", f"org.opencontainers.image.created={created}")  # fmt: skip
    umoci("gc", "--layout", str(output))


def manifest_of(layout: Path, tag: str) -> dict[str, object]:
    """The index entry (digest, size) of `tag` in an OCI image layout."""
    index = json.loads((layout / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return dict(entry)
    raise ImageError(f"{layout} has no image tagged {tag}")


def blob(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def source_date_epoch() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%ct"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return int(out.stdout.strip())


def build(output: Path, tag: str, update_lock: bool) -> dict[str, object]:
    started = time.monotonic()
    if os.geteuid() != 0:
        raise ImageError("building the image needs root (debootstrap, chroot): run it as root")
    for tool in ("debootstrap", "umoci", "chroot", "tar"):
        if shutil.which(tool) is None:
            raise ImageError(f"{tool} is missing: run `scripts/ensure-system-deps.sh image`")
    if not VENDOR_FILE.is_file():
        raise ImageError(f"{VENDOR_FILE} is missing: run `make assets` first")
    epoch = source_date_epoch()
    base = base_rootfs(PACKAGES_LOCK, update_lock)
    with tempfile.TemporaryDirectory(prefix="shiplane-image-") as tmp:
        work = Path(tmp)
        wheels = work / "wheels"
        wheels.mkdir()
        log("wheels: the run-time part of requirements.lock, and Shiplane's own")
        gather_wheels(wheels, epoch)
        root = work / "rootfs"
        since = time.time() - 1
        subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True)
        log(f"installing Shiplane into {VENV} (python3 of the image)")
        install_shiplane(root, wheels, epoch)
        install_tools(root)
        add_user(root)
        check_contents(root)
        settle_mtimes(root, since, epoch)
        layer = work / "layer.tar"
        make_layer(root, layer)
        unpacked = layer.stat().st_size  # the uncompressed layer: files and tar headers
        log(f"packing {output}:{tag} with umoci")
        pack(layer, output, tag, epoch)
    entry = manifest_of(output, tag)
    manifest = json.loads(blob(output, str(entry["digest"])).read_text())
    compressed = int(entry["size"]) + manifest["config"]["size"]
    compressed += sum(int(layer_["size"]) for layer_ in manifest["layers"])
    return {
        "layout": str(output),
        "tag": tag,
        "digest": entry["digest"],
        "compressed_bytes": compressed,
        "unpacked_bytes": unpacked,
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "build" / "image")
    parser.add_argument("--tag", default=None, help="default: the version in pyproject.toml")
    parser.add_argument(
        "--update-lock",
        action="store_true",
        help="rewrite image/packages.lock with the Debian versions installed",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    tag = args.tag or tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    try:
        result = build(args.output.resolve(), tag, args.update_lock)
    except (ImageError, BaseImageError) as exc:
        print(f"make image: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        mb = 1_000_000
        print(f"image:  {result['layout']} (OCI layout), tag {result['tag']}")
        print(f"digest: {result['digest']}")
        print(f"size:   {int(result['compressed_bytes']) / mb:.1f} MB compressed, "
              f"{int(result['unpacked_bytes']) / mb:.1f} MB unpacked")  # fmt: skip
        print(f"took:   {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
