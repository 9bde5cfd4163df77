"""Reading a ref of a local repository without running git.

A `git rev-parse` costs a process (several milliseconds, and a fork on the event loop);
the working copy's refs are plain files that git replaces atomically (lock file and
rename), so reading them under the workspace lock is as safe as asking git. Only the
simple cases are answered here: a loose ref file, else a line of `packed-refs`, and
`HEAD` through one symbolic hop. Anything else (a reftable repository, a symbolic ref
chain, a file that is not a full sha) answers None, and the caller asks git.
"""

from __future__ import annotations

from pathlib import Path

_HEX = frozenset("0123456789abcdef")


def _sha(text: str) -> str | None:
    text = text.strip()
    return text if len(text) in (40, 64) and set(text) <= _HEX else None


def read_ref(git_dir: Path, name: str) -> str | None:
    """The commit sha `name` (`HEAD` or a full ref such as `refs/heads/main`) points
    to, or None when it cannot be read without git."""
    if (git_dir / "reftable").exists():
        return None
    if name == "HEAD":
        try:
            head = (git_dir / "HEAD").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not head.startswith("ref: "):
            return _sha(head)
        name = head[len("ref: ") :].strip()
        if not name.startswith("refs/"):
            return None
    if not name.startswith("refs/") or ".." in name:
        return None
    try:
        return _sha((git_dir / name).read_text(encoding="ascii"))
    except FileNotFoundError:
        return _packed(git_dir, name)
    except (OSError, UnicodeDecodeError):
        return None


def _packed(git_dir: Path, name: str) -> str | None:
    try:
        lines = (git_dir / "packed-refs").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if line.startswith(("#", "^")):
            continue
        sha, _, ref = line.partition(" ")
        if ref == name:
            return _sha(sha)
    return None
