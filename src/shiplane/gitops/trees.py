"""Exported trees: the exact files of a commit, for renderers (`<key>/trees/<sha>/`).

Exports use a private index and `git checkout-index`, not `git archive` (which honours
export-ignore/export-subst attributes and would drop or rewrite files); symlinks that
point out of the tree are removed. An export is made in a temporary sibling and renamed
into place, so a reader never sees half a tree. Every commit a deploy makes is exported,
so every few exports a background prune deletes the trees beyond the most recently used
ones that nobody has read for a while (`read` marks a tree used).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import structlog

from shiplane.gitops.gitcmd import GitRunner
from shiplane.gitops.treecheck import remove_escaping_symlinks

log = structlog.get_logger(__name__)

PRUNE_EVERY = 8
"""Exports between two background prunes of the cache."""
TREES_KEPT = 16
TREE_IDLE_SECONDS = 600.0
"""An exported tree unused this long (and not among the newest) may be deleted."""


class TreeCache:
    """The exported trees of one working copy (`repo_dir`), in `trees_dir`."""

    def __init__(
        self,
        git: GitRunner,
        repo_dir: Path,
        trees_dir: Path,
        *,
        kept: int = TREES_KEPT,
        idle: float = TREE_IDLE_SECONDS,
        label: str = "",
    ) -> None:
        self._git = git
        self.repo_dir = repo_dir
        self.trees_dir = trees_dir
        self.kept, self.idle = kept, idle
        self._label = label  # the remote, as logs may show it
        self._exports = 0
        self._pruning: asyncio.Task[None] | None = None

    def cached(self, full_sha: str) -> Path | None:
        """The export of `full_sha` if it was made already (marked used)."""
        dest = self.trees_dir / full_sha
        if not dest.is_dir():
            return None
        _mark_used(dest)
        return dest

    async def read(self, full_sha: str) -> Path:
        """The export of commit `full_sha`, made now if needed; shared, read-only."""
        found = self.cached(full_sha)
        if found is not None:
            return found
        dest = self.trees_dir / full_sha
        self.trees_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{full_sha[:12]}.", dir=self.trees_dir))
        try:
            await self.checkout_into(full_sha, tmp)
            _publish_dir(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _mark_used(dest)
        self._exports += 1
        if self._exports % PRUNE_EVERY == 0 and self._pruning is None:
            # Off the hot path: deleting a tree costs a syscall per file.
            self._pruning = asyncio.create_task(self._prune_in_background())
        return dest

    async def export_into(self, full_sha: str, dest: Path) -> None:
        """Write the files of `full_sha` into `dest` (created; must be empty)."""
        _empty_dir(dest)
        await self.checkout_into(full_sha, dest)

    async def checkout_into(self, full_sha: str, dest: Path) -> None:
        with tempfile.TemporaryDirectory(dir=self.trees_dir.parent) as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            await self._git.run("read-tree", full_sha, cwd=self.repo_dir, extra_env=env)
            await self._git.run(
                "checkout-index", "--all", "--force", f"--prefix={dest}{os.sep}",
                cwd=self.repo_dir, extra_env=env,
            )  # fmt: skip
        remove_escaping_symlinks(dest)

    def prune(self, keep: int | None = None, idle: float | None = None) -> list[str]:
        """Delete the trees beyond the `keep` most recently used ones that nobody has
        read for `idle` seconds (defaults: the cache's); the removed shas."""
        keep = self.kept if keep is None else keep
        idle = self.idle if idle is None else idle
        if not self.trees_dir.is_dir():
            return []
        trees = sorted(
            (p for p in self.trees_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        cutoff = time.time() - idle
        removed = []
        for old in trees[keep:]:
            if old.stat().st_mtime > cutoff:
                continue
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old.name)
        return removed

    async def _prune_in_background(self) -> None:
        try:
            removed = await asyncio.to_thread(self.prune)
            if removed:
                log.info("git.trees.pruned", remote=self._label, count=len(removed))
        except Exception:  # never fatal: the next round tries again
            log.exception("git.trees.prune_failed", remote=self._label)
        finally:
            self._pruning = None


def _mark_used(tree: Path) -> None:
    """Record that `tree` is being read (its mtime), so pruning leaves it alone."""
    with contextlib.suppress(OSError):
        os.utime(tree)


def _empty_dir(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"export destination {dest} is not empty")


def _publish_dir(tmp: Path, dest: Path) -> None:
    """Rename a finished export into place; losing a race to an identical export is fine."""
    try:
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
