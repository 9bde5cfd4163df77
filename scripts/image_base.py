"""The Debian part of Shiplane's container image: a minimal bookworm root file system.

`debootstrap --variant=minbase` from Debian's mirror with the few packages Shiplane needs at
run time (Python 3.11 for the venv, git and ssh for the GitOps repositories, the CA
bundle), then the point-release and security updates through the chroot's own apt. The
installed versions must equal image/packages.lock (`--update-lock` rewrites it when Debian
has moved), so what is in the image is written down and reviewed like requirements.lock.
Then the package manager goes: apt is purged, dpkg's programs are deleted (its database,
/var/lib/dpkg/status and the file lists, stays so that scanners can list the packages), and
everything that differs from one run to the next (logs, caches, dates in /etc/shadow,
backup files, the host's hostname and resolv.conf) is removed or made constant, and what
the build wrote gets the mtime of the newest packaged file.

The result is cached under ~/.cache/shiplane/image/ ($SHIPLANE_HOME/image), keyed by the
lock and this file's text, so a second build skips the minutes of debootstrap. Runs as
root (debootstrap, chroot). Used by scripts/build_image.py; docs/image.md.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from shiplane.localcluster.paths import shiplane_home

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# What debootstrap adds to minbase (it follows Depends, not Recommends).
INCLUDE = ("python3", "git", "openssh-client", "ca-certificates")
# Package management, purged once the lock is checked (dpkg itself is Essential: its
# programs are deleted by hand below, its database stays).
PURGE = ("apt", "libapt-pkg6.0", "gpgv", "debian-archive-keyring")
LOCK_HEADER = f"""\
# The Debian packages of the Shiplane image's root file system, as installed by
# scripts/image_base.py: `debootstrap --variant=minbase {SUITE}` with {", ".join(INCLUDE)},
# then {SUITE}-updates and {SUITE}-security. Every build checks the installed versions
# against this list; when Debian has published updates the build stops, and
# `make image IMAGE_ARGS=--update-lock` rewrites it (review the diff like a lock update).
# Later purged from the image: {", ".join(PURGE)} (and dpkg's programs).
# package version architecture
"""
# Deterministic runs of the maintainer scripts: Python's and Perl's hash seeds fix the order
# of what they write (byte-compiled files, debconf's database).
CHROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "PYTHONHASHSEED": "0",
    "PERL_HASH_SEED": "0",
    "PERL_PERTURB_KEYS": "0",
}


class BaseImageError(RuntimeError):
    """The base root file system could not be made, or differs from the lock."""


def cache_dir() -> Path:
    """`$SHIPLANE_HOME/image` (default ~/.cache/shiplane/image): bases and .deb files."""
    return shiplane_home() / "image"


def base_key(lock_text: str) -> str:
    """What the cached base depends on: the pinned versions and this recipe."""
    recipe = Path(__file__).read_bytes()
    return hashlib.sha256(lock_text.encode() + b"\0" + recipe).hexdigest()[:16]


def run(*args: str, root: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command (inside `root` through chroot when given, with CHROOT_ENV and `env`);
    its output, or a BaseImageError with the tail of it."""
    argv = ["chroot", str(root), *args] if root else list(args)
    base = dict(CHROOT_ENV) if root else {**os.environ, **CHROOT_ENV}
    done = subprocess.run(argv, env={**base, **(env or {})}, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(((done.stdout or "") + (done.stderr or "")).splitlines()[-30:])
        raise BaseImageError(f"{' '.join(argv)} failed ({done.returncode}):\n{tail}")
    return done.stdout or ""


def installed_packages(root: Path) -> str:
    """`name version arch` per installed package, sorted: the lock's body."""
    out = run(
        "dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W",
        "-f", "${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\n",
    )  # fmt: skip
    rows = sorted(line.split(" ", 1)[1].strip() for line in out.splitlines() if line[:2] == "ii")
    return "".join(f"{row}\n" for row in rows)


def debootstrap(root: Path) -> None:
    debs = cache_dir() / "debs"  # downloaded .deb files, kept between builds
    debs.mkdir(parents=True, exist_ok=True)
    print(f"debootstrap {SUITE} (minbase + {', '.join(INCLUDE)}) from {MIRROR}", file=sys.stderr)
    run(
        "debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}",
        f"--cache-dir={debs}", SUITE, str(root), MIRROR,
    )  # fmt: skip
    (root / "etc/apt/sources.list").write_text(
        f"deb {MIRROR} {SUITE} main\ndeb {MIRROR} {SUITE}-updates main\n"
        f"deb {SECURITY_MIRROR} {SUITE}-security main\n"
    )
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    print(f"updates from {SUITE}-updates and {SUITE}-security", file=sys.stderr)
    run("apt-get", "-q", "update", root=root)
    run("apt-get", "-q", "-y", "--no-install-recommends", "dist-upgrade", root=root)


def check_lock(root: Path, lock: Path, update: bool) -> str:
    """The lock's text after comparing (or, with `update`, rewriting) it."""
    actual = LOCK_HEADER + installed_packages(root)
    if update:
        lock.write_text(actual)
        return actual
    expected = lock.read_text() if lock.is_file() else ""
    if expected != actual:
        want = {ln for ln in expected.splitlines() if ln and not ln.startswith("#")}
        got = {ln for ln in actual.splitlines() if ln and not ln.startswith("#")}
        diff = [f"- {ln}" for ln in sorted(want - got)] + [f"+ {ln}" for ln in sorted(got - want)]
        raise BaseImageError(
            f"the Debian packages installed differ from {lock} (Debian has published updates, "
            "or the recipe changed):\n" + "\n".join(diff or ["(header differs)"]) + "\n"
            "review them and run `make image IMAGE_ARGS=--update-lock` to accept them"
        )
    return actual


def strip_package_manager(root: Path) -> None:
    """Purge apt; delete dpkg's and debconf's programs, keep dpkg's database."""
    run("dpkg", "--purge", *PURGE, root=root)
    for bindir in ("usr/bin", "usr/sbin"):
        for tool in sorted((root / bindir).iterdir()):
            if tool.name.startswith(("dpkg", "apt")) or tool.name in {
                "update-alternatives",
                "debconf",
                "debconf-apt-progress",
                "debconf-communicate",
                "debconf-copydb",
                "debconf-escape",
                "debconf-set-selections",
                "debconf-show",
            }:
                tool.unlink()
    info = root / "var/lib/dpkg/info"
    for path in sorted(info.iterdir()):
        # Maintainer scripts and templates serve dpkg only; the file lists and checksums
        # are what scanners read.
        if path.suffix not in {".list", ".md5sums", ".conffiles"}:
            path.unlink()


def make_constant(root: Path) -> None:
    """Remove what changes between runs or serves no purpose in a container."""
    for rel in (
        "var/lib/apt", "var/cache/apt", "etc/apt", "var/cache/debconf", "var/log",
        "var/cache/ldconfig", "usr/share/man", "usr/share/info", "usr/share/locale",
        "usr/share/lintian", "usr/share/bash-completion", "var/lib/dpkg/updates",
    ):  # fmt: skip
        shutil.rmtree(root / rel, ignore_errors=True)
    for rel in ("var/log", "var/cache/debconf", "var/lib/dpkg/updates"):
        (root / rel).mkdir(mode=0o755, parents=True, exist_ok=True)
    for pattern in ("etc/*-", "var/lib/dpkg/*-old", "var/cache/debconf/*-old"):
        for path in root.glob(pattern):
            path.unlink()
    for rel in ("etc/hostname", "etc/machine-id", "var/lib/dbus/machine-id"):
        (root / rel).unlink(missing_ok=True)
    (root / "etc/resolv.conf").write_text("")  # the runtime mounts its own
    # Documentation, but the licences.
    for doc in sorted((root / "usr/share/doc").iterdir()):
        if doc.is_dir() and not doc.is_symlink():
            for item in sorted(doc.iterdir()):
                if item.name != "copyright":
                    if item.is_dir() and not item.is_symlink():
                        shutil.rmtree(item)
                    else:
                        item.unlink()
    # The third field of /etc/shadow is the day each account was made: blank it.
    for name in ("etc/shadow", "etc/gshadow"):
        path = root / name
        lines = [ln.split(":") for ln in path.read_text().splitlines()]
        if name == "etc/shadow":
            lines = [[*fields[:2], "", *fields[3:]] for fields in lines]
        path.write_text("".join(":".join(fields) + "\n" for fields in lines))
    for rel in ("tmp", "var/tmp", "root"):
        for item in sorted((root / rel).iterdir()):
            if item.name in {".bashrc", ".profile"}:
                continue
            shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()


def walk(root: Path) -> list[Path]:
    """Every path below `root` (not following symbolic links), `root` last."""
    paths: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        base = Path(dirpath)
        paths.extend(base / name for name in (*filenames, *dirnames))
    return [*paths, root]


def settle_mtimes(root: Path, since: float, to: int) -> None:
    """Give every path modified at or after `since` (what this build wrote, as opposed to
    what dpkg unpacked with the package's own times) the mtime `to`. Clamping alone would
    make the image depend on whether the build ran before or after `to`; and the packaged
    files keep their times, so Debian's byte-compiled standard library stays valid."""
    for path in walk(root):
        if path.lstat().st_mtime >= since:
            os.utime(path, (to, to), follow_symlinks=False)


def newest_packaged_mtime(root: Path, since: float) -> int:
    """The newest mtime among the files the build did not write: a date that depends only on
    the packages installed."""
    return int(max(m for p in walk(root) if (m := p.lstat().st_mtime) < since))


def base_rootfs(lock: Path, update_lock: bool = False) -> Path:
    """The cached base root file system for `lock`, made when missing. One build at a time
    makes or reads it (a lock file), so parallel builds share one debootstrap and one .deb
    cache."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "base.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        return _base_rootfs(cache, lock, update_lock)


def _base_rootfs(cache: Path, lock: Path, update_lock: bool) -> Path:
    lock_text = lock.read_text() if lock.is_file() else ""
    cached = cache / f"base-{base_key(lock_text)}"
    if (cached / ".complete").is_file() and not update_lock:
        print(f"base root file system: cached ({cached})", file=sys.stderr)
        return cached / "rootfs"
    work = cache / f"base-building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        root = work / "rootfs"
        since = time.time() - 1
        debootstrap(root)
        lock_text = check_lock(root, lock, update_lock)
        strip_package_manager(root)
        make_constant(root)
        settle_mtimes(root, since, newest_packaged_mtime(root, since))
        cached = cache / f"base-{base_key(lock_text)}"
        shutil.rmtree(cached, ignore_errors=True)
        (work / ".complete").touch()
        work.rename(cached)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cached / "rootfs"
