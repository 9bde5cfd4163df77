"""Keeping an exported tree self-contained.

A commit may contain symlinks. One pointing outside the exported tree (`/etc/passwd`,
`../../other-tenant`) would let a renderer read files that are not part of the commit,
breaking "rendered output is a pure function of the commit" and leaking host files into
manifests. Such links are removed; links that stay inside the tree are kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def remove_escaping_symlinks(root: Path) -> list[str]:
    """Delete symlinks under `root` whose target lies outside it; their relative paths."""
    base = root.resolve()
    removed: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if not path.is_symlink():
                continue
            target = (path.parent / os.readlink(path)).resolve()
            if not target.is_relative_to(base):
                path.unlink()
                removed.append(str(path.relative_to(root)))
    if removed:
        log.warning("gitops.tree.symlinks_removed", paths=removed)
    return sorted(removed)
