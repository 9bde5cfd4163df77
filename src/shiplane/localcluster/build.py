"""Build the pinned upstream components from Go modules into the binary cache.

A build is idempotent: a component whose cache directory carries a completion stamp is
skipped without running Go at all. Builds write into a temporary directory and rename it
into place, so an interrupted build never leaves a half-populated cache entry behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shiplane.localcluster.components import COMPONENTS, Component, ModuleFiles
from shiplane.localcluster.paths import bin_cache_dir

Progress = Callable[[str], None]

STAMP = ".complete"
MIN_GO = (1, 26)
HEARTBEAT_SECONDS = 30.0


class BuildError(RuntimeError):
    """A component could not be built; the message says what and how to fix it."""


@dataclass(frozen=True)
class BuildResult:
    component: Component
    directory: Path
    cached: bool
    seconds: float


def component_dir(c: Component, base: Path | None = None) -> Path:
    return (base or bin_cache_dir()) / c.key


def is_built(c: Component, base: Path | None = None) -> bool:
    d = component_dir(c, base)
    return (d / STAMP).is_file() and all((d / b.name).is_file() for b in c.binaries)


def binary_path(component_name: str, binary: str, base: Path | None = None) -> Path:
    """Path of a cached binary (whether or not it is built yet)."""
    for c in COMPONENTS:
        if c.name == component_name:
            return component_dir(c, base) / binary
    raise KeyError(component_name)


def files_digest(directory: Path) -> str:
    """A sha256 over the names and contents of the files directly in `directory`, in name
    order: what `ModuleFiles.sha256` pins."""
    outer = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        outer.update(f"{path.name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return outer.hexdigest()


def go_version() -> tuple[int, int]:
    """The installed Go's (major, minor); BuildError when Go is missing or too old."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain is not on PATH: Shiplane builds kube-apiserver, etcd, kwok, helm "
            "and kustomize, and takes the Gateway API CRDs, from Go modules and needs "
            f"Go >= {MIN_GO[0]}.{MIN_GO[1]}. "
            "Install Go (https://go.dev/doc/install) or put it on PATH, then run "
            "`shiplane localcluster build` again."
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    match = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or match is None:
        raise BuildError(f"could not read the Go version from `go env GOVERSION`: {out.stderr}")
    found = (int(match.group(1)), int(match.group(2)))
    if found < MIN_GO:
        raise BuildError(
            f"Go {found[0]}.{found[1]} is too old; the pinned Kubernetes {COMPONENTS[0].version} "
            f"needs Go >= {MIN_GO[0]}.{MIN_GO[1]}"
        )
    return found


@contextmanager
def _build_lock(base: Path) -> Iterator[None]:
    # Two `make` targets may build at once; the second waits instead of racing the rename.
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _heartbeat(progress: Progress, what: str) -> Iterator[None]:
    """Say every half minute that a long build is still going, with the elapsed time."""
    stop = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            progress(f"  … still building {what} ({time.monotonic() - started:.0f}s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _go_env(cgo: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    # Never let a go line trigger a toolchain download; static binaries need no libc match
    # (cgo only where a component needs C, like Gitea's SQLite driver).
    env.update(
        {"GOTOOLCHAIN": "local", "CGO_ENABLED": "1" if cgo else "0", "GOFLAGS": "-mod=readonly"}
    )
    return env


def _run_go(args: Sequence[str], cwd: Path, what: str, cgo: bool = False) -> str:
    proc = subprocess.run(
        ["go", *args], cwd=cwd, env=_go_env(cgo), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise BuildError(f"building {what} failed (go {args[0]} exited {proc.returncode}):\n{tail}")
    return proc.stdout


def _pinned_sum(c: Component, module: str) -> str:
    """The h1: hash the wrapper's go.sum records for `module`'s zip."""
    for line in (c.gomod_dir / "go.sum").read_text().splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == module and not fields[1].endswith("/go.mod"):
            return fields[2]
    raise BuildError(f"{c.gomod_dir}/go.sum has no hash for {module}: the pin is incomplete")


def _download_pinned(c: Component, wrapper: Path, module: str) -> Path:
    """The source folder of `module` in the module cache, fetched at the version the
    wrapper requires and checked against the wrapper's go.sum."""
    answer = json.loads(_run_go(["mod", "download", "-json", module], wrapper, module))
    if answer.get("Error"):
        raise BuildError(f"fetching {module} failed: {answer['Error']}")
    # The go command checked the zip against go.sum already; say so again here, so the pin
    # holds whatever GOFLAGS, GONOSUMDB or GOINSECURE the caller's environment sets.
    if answer.get("Sum") != _pinned_sum(c, module):
        raise BuildError(f"{module} {answer.get('Version')} does not match the pinned go.sum")
    return Path(answer["Dir"])


def _writable_source(c: Component, wrapper: Path, dest: Path, progress: Progress) -> Path:
    """Copy the source of `c.source_module`, fetched at the wrapper's pinned version and
    verified against its go.sum, to `dest` (the module cache is read-only), with its
    nested modules (`c.nested_modules`) at the folders its go.mod replaces them with."""
    module = c.source_module
    assert module is not None
    progress(f"  fetching {module} (verified against {c.gomod_dir.name}/go.sum)")
    shutil.copytree(_download_pinned(c, wrapper, module), dest, copy_function=shutil.copyfile)
    for nested, folder in c.nested_modules:
        progress(f"  fetching {nested} into {folder}/ (verified against the same go.sum)")
        if (dest / folder).exists():
            raise BuildError(f"{module} already has a folder {folder}/ for {nested}")
        source = _download_pinned(c, wrapper, nested)
        shutil.copytree(source, dest / folder, copy_function=shutil.copyfile)
    _carry_replacements(c, wrapper, dest, progress)
    for folder, _dirs, _files in os.walk(dest):
        # The module cache is read-only, the copy must not be; folders kept beside the
        # binary stay readable by others, like the binary (the tests run Gitea as nobody).
        os.chmod(folder, 0o755)  # noqa: S103
    return dest


def _carry_replacements(c: Component, wrapper: Path, source: Path, progress: Progress) -> None:
    """Apply the wrapper's own `replace` directives to the source module's go.mod, with the
    wrapper's go.sum lines for each replacement: how a wrapper swaps a dependency version
    the module proxy does not serve for one it does (the source's go.sum has no line for it,
    and `-mod=readonly` must not resolve anything new)."""
    edits = json.loads(_run_go(["mod", "edit", "-json"], wrapper, f"{c.gomod_dir.name}/go.mod"))
    wrapper_sums = (c.gomod_dir / "go.sum").read_text().splitlines()
    for replace in edits.get("Replace") or []:
        old, new = replace["Old"], replace["New"]
        if not new.get("Version"):
            raise BuildError(f"{c.gomod_dir}/go.mod replaces {old['Path']} with a folder")
        target = f"{new['Path']} {new['Version']}"
        lines = [line for line in wrapper_sums if line.startswith((f"{target} ", f"{target}/"))]
        if len(lines) != 2:
            raise BuildError(f"{c.gomod_dir}/go.sum lacks the hashes of {target}")
        progress(f"  replacing {old['Path']} with {target} (pinned in {c.gomod_dir.name}/)")
        _run_go(
            ["mod", "edit", f"-replace={old['Path']}={new['Path']}@{new['Version']}"],
            source,
            f"{c.source_module} go.mod",
        )
        with open(source / "go.sum", "a") as gosum:
            gosum.write("".join(f"{line}\n" for line in lines))


def _build_component(c: Component, base: Path, progress: Progress) -> None:
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{c.key}-", dir=base) as tmp:
        work = Path(tmp) / "module"
        out = Path(tmp) / "out"
        # Copy the wrapper module: the installed package may be read-only.
        shutil.copytree(c.gomod_dir, work)
        wrapper = work
        if c.source_module:
            work = _writable_source(c, wrapper, Path(tmp) / "source", progress)
        out.mkdir()
        ldflags = " ".join(("-s", "-w", *c.ldflags))
        for i, b in enumerate(c.binaries, start=1):
            source = c.source_module or b.package
            progress(f"  [{i}/{len(c.binaries)}] go build {b.name} ({source})")
            args = ["build", "-trimpath", f"-ldflags={ldflags}", "-o", str(out / b.name)]
            if c.tags:
                args.append(f"-tags={','.join(c.tags)}")
            with _heartbeat(progress, f"{b.name}"):
                _run_go([*args, b.package], work, f"{c.name} {c.version} ({b.name})", c.cgo)
        for folder in c.source_dirs:
            shutil.copytree(work / folder, out / folder)
        for files in c.module_files:
            # Through the wrapper, which pins every module files are taken from (a source
            # module's own go.mod cannot download that module: it is the main module).
            _copy_module_files(files, wrapper, out / files.into, progress)
        stamp = {"component": c.name, "version": c.version, "built_at": time.time()}
        (out / STAMP).write_text(json.dumps(stamp) + "\n")
        final = component_dir(c, base)
        if final.exists():  # an old, incomplete entry: replace it whole
            shutil.rmtree(final)
        out.rename(final)


def _copy_module_files(files: ModuleFiles, work: Path, dest: Path, progress: Progress) -> None:
    # `go mod download` fetches the module at the version go.mod requires when no build did,
    # and refuses a zip whose hash differs from the wrapper's go.sum (it would add a missing
    # line even under -mod=readonly: test_gomods.py checks every required module has one).
    progress(f"  go mod download {files.module}")
    info = json.loads(_run_go(["mod", "download", "-json", files.module], work, files.module))
    source = Path(info["Dir"])
    dest.mkdir(parents=True, exist_ok=True)
    for rel in files.paths:
        found = sorted(source.glob(rel))
        if not found:
            raise BuildError(f"{files.module} {info['Version']} has no file matching {rel}")
        for path in found:
            if (dest / path.name).exists():
                raise BuildError(f"{files.module}: two files named {path.name} for {dest}")
            shutil.copyfile(path, dest / path.name)
    copied = sum(1 for _ in dest.iterdir())
    if files.sha256:
        digest = files_digest(dest)
        if digest != files.sha256:
            raise BuildError(
                f"the files taken from {files.module} {info['Version']} ({', '.join(files.paths)}) "
                f"have sha256 {digest}, but {files.sha256} is pinned. After a version bump, "
                "pin the new digest in localcluster/components.py; otherwise the module cache "
                "may be damaged: `go clean -modcache` and build again."
            )
    verified = ", digest verified" if files.sha256 else ""
    progress(f"  copied {copied} files into {files.into}/{verified}")


def build_all(
    components: Sequence[Component] = COMPONENTS,
    *,
    base: Path | None = None,
    progress: Progress = print,
) -> list[BuildResult]:
    """Build every component not yet cached; return what was built or found."""
    base = base or bin_cache_dir()
    results: list[BuildResult] = []
    todo = [c for c in components if not is_built(c, base)]
    if not todo:
        # All cached (a cache entry is complete once its stamp exists): no lock, so a test
        # session does not wait behind another process building an optional component.
        for n, c in enumerate(components, start=1):
            progress(f"[{n}/{len(components)}] {c.name} {c.version}: cached")
            results.append(BuildResult(c, component_dir(c, base), True, 0.0))
        return results
    go_version()  # fail early and clearly when Go is missing
    with _build_lock(base):
        for n, c in enumerate(components, start=1):
            started = time.monotonic()
            if is_built(c, base):
                progress(f"[{n}/{len(components)}] {c.name} {c.version}: cached")
                results.append(BuildResult(c, component_dir(c, base), True, 0.0))
                continue
            progress(f"[{n}/{len(components)}] {c.name} {c.version}: building")
            _build_component(c, base, progress)
            took = time.monotonic() - started
            progress(f"[{n}/{len(components)}] {c.name} {c.version}: built in {took:.0f}s")
            results.append(BuildResult(c, component_dir(c, base), False, took))
    return results
