"""Exported trees: the exact files of a commit, for renderers (`<key>/trees/<sha>/`).

Exports use a private index and `git checkout-index`, not `git archive` (which honours
export-ignore/export-subst attributes and would drop or rewrite files); symlinks that
point out of the tree are removed. An export is made in a temporary sibling and renamed
into place, so a reader never sees half a tree. The commit a deploy pushes is exported
ahead, in the background (the next deploy most likely starts from it). Every commit is
exported sooner or later, so every few exports a background prune deletes the trees
beyond the most recently used ones that nobody has read for a while (`read` marks a tree
used).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Executor, Future
from pathlib import Path

import structlog

from shiplane.gitops.errors import GitError
from shiplane.gitops.gitcmd import GitRunner
from shiplane.gitops.treecheck import remove_escaping_symlinks

log = structlog.get_logger(__name__)

PRUNE_EVERY = 8
"""Exports between two background prunes of the cache."""
TREES_KEPT = 16
TREE_IDLE_SECONDS = 600.0
"""An exported tree unused this long (and not among the newest) may be deleted."""


class TreeCache:
    """The exported trees of one working copy (`repo_dir`), in `trees_dir`.

    Background work (exporting ahead, pruning) runs on `background`, a single worker
    thread owned by the workspace, never as an asyncio task: a task cancelled while
    starting a child process can hang the event loop's shutdown."""

    def __init__(
        self,
        git: GitRunner,
        repo_dir: Path,
        trees_dir: Path,
        background: Executor,
        *,
        kept: int = TREES_KEPT,
        idle: float = TREE_IDLE_SECONDS,
        label: str = "",
    ) -> None:
        self._git = git
        self.repo_dir = repo_dir
        self.trees_dir = trees_dir
        self.kept, self.idle = kept, idle
        self._background = background
        self._label = label  # the remote, as logs may show it
        self._count = threading.Lock()
        self._exports = 0
        self._ahead: dict[str, Future[Path]] = {}  # exports ahead, under way, by sha

    def cached(self, full_sha: str) -> Path | None:
        """The export of `full_sha` if it was made already (marked used)."""
        dest = self.trees_dir / full_sha
        if not dest.is_dir():
            return None
        _mark_used(dest)
        return dest

    async def read(self, full_sha: str) -> Path:
        """The export of commit `full_sha`, made now if needed (or joined, when it is
        being exported ahead); shared, read-only."""
        found = self.cached(full_sha)
        if found is not None:
            return found
        ahead = self._ahead.get(full_sha)
        if ahead is not None:
            with contextlib.suppress(GitError, OSError):
                return await asyncio.shield(asyncio.wrap_future(ahead))
        tmp = self._new_tmp(full_sha)
        try:
            await self.checkout_into(full_sha, tmp)
            return self._publish(full_sha, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def prefetch(self, full_sha: str) -> None:
        """Export `full_sha` in the background: the commit a deploy just pushed is the head
        the next deploy most likely starts from, so its export is ready by then."""
        if self.cached(full_sha) is None and full_sha not in self._ahead:
            future = self._background.submit(self._export_ahead, full_sha)
            self._ahead[full_sha] = future
            future.add_done_callback(lambda _: self._ahead.pop(full_sha, None))

    def _export_ahead(self, full_sha: str) -> Path:
        if (found := self.cached(full_sha)) is not None:
            return found
        tmp = self._new_tmp(full_sha)
        try:
            with tempfile.TemporaryDirectory(dir=self.trees_dir.parent) as scratch:
                env = _private_index(scratch)
                self._git.run_sync("read-tree", full_sha, cwd=self.repo_dir, extra_env=env)
                self._git.run_sync(*_checkout_index(tmp), cwd=self.repo_dir, extra_env=env)
            remove_escaping_symlinks(tmp)
            return self._publish(full_sha, tmp)
        except Exception as exc:
            log.info("git.trees.export_ahead_failed", sha=full_sha, error=str(exc))
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _new_tmp(self, full_sha: str) -> Path:
        self.trees_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{full_sha[:12]}.", dir=self.trees_dir))

    def _publish(self, full_sha: str, tmp: Path) -> Path:
        dest = self.trees_dir / full_sha
        _publish_dir(tmp, dest)
        _mark_used(dest)
        with self._count:
            self._exports += 1
            due = self._exports % PRUNE_EVERY == 0
        if due:  # off the hot path: deleting a tree costs a syscall per file
            self._background.submit(self._prune_logged)
        return dest

    async def export_into(self, full_sha: str, dest: Path) -> None:
        """Write the files of `full_sha` into `dest` (created; must be empty)."""
        _empty_dir(dest)
        await self.checkout_into(full_sha, dest)

    async def checkout_into(self, full_sha: str, dest: Path) -> None:
        with tempfile.TemporaryDirectory(dir=self.trees_dir.parent) as scratch:
            env = _private_index(scratch)
            await self._git.run("read-tree", full_sha, cwd=self.repo_dir, extra_env=env)
            await self._git.run(*_checkout_index(dest), cwd=self.repo_dir, extra_env=env)
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

    def _prune_logged(self) -> None:
        try:
            removed = self.prune()
            if removed:
                log.info("git.trees.pruned", remote=self._label, count=len(removed))
        except Exception:  # never fatal: the next round tries again
            log.exception("git.trees.prune_failed", remote=self._label)


def _private_index(scratch: str) -> dict[str, str]:
    # A private index and `checkout-index` give the files exactly as committed.
    return {"GIT_INDEX_FILE": os.path.join(scratch, "index")}


def _checkout_index(dest: Path) -> tuple[str, ...]:
    return ("checkout-index", "--all", "--force", f"--prefix={dest}{os.sep}")


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
