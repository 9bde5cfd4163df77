#!/usr/bin/env python3
"""Fail when pyproject.toml and requirements.lock disagree.

The lock is the whole closure, installed with --no-deps, so a dependency added to
pyproject.toml but not locked would be missing at run time, and one removed from
pyproject.toml but still locked would be installed for nothing. Checks, by the lock's
own `# via` annotations (written by `uv pip compile`, see `make lock`):

1. every dependency of pyproject.toml (its `dependencies` and the `dev` extra) is pinned,
   at a version its specifier allows, and with every extra it names locked too;
2. every pin the lock marks as coming from pyproject.toml is still named there;
3. every pin is wanted by something: pyproject.toml or another pin;
4. every pin is exact (`==`) and carries at least one hash.

Usage: check_lock.py [--pyproject PATH] [--lock PATH]. Exit 0 when they agree, 1 with one
line per disagreement and the fix otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

try:  # `packaging` is in the lock; pip vendors it for the tools-only venv of `make lock`
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover - depends on the venv
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

PYPROJECT_SOURCE = "shiplane (pyproject.toml)"
EXTRA = "dev"
_PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(==|>=|<=|~=|>|<|!=)?\s*([^\s\\;]*)"
)


@dataclass
class Pin:
    name: str
    version: str
    line: int
    exact: bool
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def parse_lock(text: str) -> dict[str, Pin]:
    """Pins of a `uv pip compile --generate-hashes` file, with their `# via` sources."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        if not raw.startswith((" ", "#")):
            match = _PIN.match(stripped)
            if match is None:
                raise ValueError(f"requirements.lock:{number}: cannot read {stripped!r}")
            name = canonicalize_name(match.group(1))
            current = Pin(name, match.group(4), number, exact=match.group(3) == "==")
            pins[name] = current
            in_via = False
            continue
        if current is None:
            continue
        if stripped.startswith("--hash="):
            current.hashes += 1
        elif stripped.startswith("# via "):
            current.via.append(stripped.removeprefix("# via ").strip())
            in_via = False
        elif stripped == "# via":
            in_via = True
        elif in_via and stripped.startswith("#   "):
            current.via.append(stripped.removeprefix("#   ").strip())
    return pins


def direct_requirements(pyproject: dict[str, object]) -> list[Requirement]:
    project = pyproject.get("project")
    if not isinstance(project, dict):
        raise ValueError("pyproject.toml has no [project] table")
    names = list(project.get("dependencies", []))
    names += list(project.get("optional-dependencies", {}).get(EXTRA, []))
    return [Requirement(spec) for spec in names]


def _source_name(via: str) -> str:
    # "-r requirements.in" and "shiplane (pyproject.toml)" are files, the rest are pins
    return canonicalize_name(via.split(" ", 1)[0])


def check(pyproject: dict[str, object], pins: dict[str, Pin]) -> list[str]:
    problems: list[str] = []
    wanted = {canonicalize_name(r.name): r for r in direct_requirements(pyproject)}
    for name, req in sorted(wanted.items()):
        pin = pins.get(name)
        if pin is None:
            problems.append(f"pyproject.toml needs {req} but requirements.lock does not pin {name}")
            continue
        if pin.version and not req.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"requirements.lock:{pin.line}: {name}=={pin.version} does not satisfy "
                f"pyproject.toml's {req}"
            )
        if PYPROJECT_SOURCE not in pin.via:
            problems.append(
                f"requirements.lock:{pin.line}: {name} is in pyproject.toml but the lock "
                "does not say so (it was locked for another package)"
            )
    for name, pin in sorted(pins.items()):
        where = f"requirements.lock:{pin.line}: {name}"
        if not pin.exact:
            problems.append(f"{where} is not pinned with ==")
        if pin.hashes == 0:
            problems.append(f"{where} has no --hash")
        if PYPROJECT_SOURCE in pin.via and name not in wanted:
            problems.append(f"{where} is locked for pyproject.toml, which no longer names it")
        sources = [v for v in pin.via if v != PYPROJECT_SOURCE]
        if not pin.via or (
            PYPROJECT_SOURCE not in pin.via and not any(_source_name(v) in pins for v in sources)
        ):
            problems.append(f"{where} is wanted by nothing in the lock or pyproject.toml")
    return problems


def check_installed(pyproject: dict[str, object], pins: dict[str, Pin]) -> list[str]:
    """Walk the installed closure from pyproject.toml (extras included): every requirement
    whose marker applies here must be pinned at a version it allows. `pip check` does not
    look at extras, and the lock's annotations do not name them."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[Requirement, str]] = [
        (r, "pyproject.toml") for r in direct_requirements(pyproject)
    ]
    while todo:
        req, parent = todo.pop()
        name = canonicalize_name(req.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{parent} needs {req} but requirements.lock does not pin {name}")
            continue
        if not req.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"{parent} needs {req} but requirements.lock pins {name}=={pin.version}"
            )
        for extra in ["", *sorted(req.extras)]:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            try:
                requires = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                problems.append(f"{name} is locked but not installed: run `make venv`")
                break
            for spec in requires:
                child = Requirement(spec)
                env = {"extra": extra}
                if child.marker is None or child.marker.evaluate(env):
                    todo.append((child, f"{name}{f'[{extra}]' if extra else ''}"))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--pyproject", type=Path, default=root / "pyproject.toml")
    parser.add_argument("--lock", type=Path, default=root / "requirements.lock")
    parser.add_argument(
        "--installed",
        action="store_true",
        help="also walk the installed closure (extras included) against the pins",
    )
    args = parser.parse_args(argv)
    try:
        pyproject = tomllib.loads(args.pyproject.read_text(encoding="utf-8"))
        pins = parse_lock(args.lock.read_text(encoding="utf-8"))
        problems = check(pyproject, pins)
        if args.installed:
            problems += check_installed(pyproject, pins)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"check_lock: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"check_lock: {len(problems)} disagreement(s); run `make lock` to regenerate "
            "requirements.lock from pyproject.toml",
            file=sys.stderr,
        )
        return 1
    print(f"check_lock: requirements.lock pins {len(pins)} packages and agrees with pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
