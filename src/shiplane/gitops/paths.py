"""Repository-relative paths that stay inside the repository. Pure."""

from __future__ import annotations

from pathlib import PurePosixPath


def check_repo_path(path: str) -> PurePosixPath:
    """A relative path inside the repository, never into `.git` or above the root."""
    p = PurePosixPath(path)
    if not path or p.is_absolute() or "\\" in path or "\0" in path:
        raise ValueError(f"invalid repository path {path!r}: must be relative, '/'-separated")
    if any(part in {"", ".", ".."} for part in path.split("/")):
        raise ValueError(f"invalid repository path {path!r}: no '.', '..' or empty parts")
    if p.parts[0] == ".git":
        raise ValueError(f"invalid repository path {path!r}: inside .git")
    return p
