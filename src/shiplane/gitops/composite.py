"""A tree with one directory taken from another commit: how an app pinned to a config
commit is rendered.

A release that pins an app's config commit (`commits: {app: <sha>}`) deploys the app's
manifests (`manifests.path`) as they were at that commit, while everything else (the
environment's own `envs/<env>/<app>/` overlay or values, other apps) is read from the
tree being deployed. So a change to an app's base is promoted environment by environment
instead of reaching every environment at once.

The composite is made with git alone, in a private index (`read-tree` of the base, the
directory removed, `read-tree --prefix` of the commit's subtree, `write-tree`), so it is
content-addressed: its export is cached like any tree (`trees.py`) by the tree's sha.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shiplane.gitops.errors import GitError
from shiplane.gitops.gitcmd import GitRunner
from shiplane.gitops.trees import TreeCache


async def has_commit(git: GitRunner, repo_dir: Path, commit: str) -> bool:
    result = await git.run("cat-file", "-e", f"{commit}^{{commit}}", cwd=repo_dir, check=False)
    return result.ok


async def subtree(git: GitRunner, repo_dir: Path, treeish: str, path: str) -> str | None:
    """The sha of directory `path` in `treeish`, None when it is not a directory there."""
    result = await git.run(
        "rev-parse", "--verify", "--quiet", f"{treeish}^{{tree}}:{path}", cwd=repo_dir, check=False
    )
    if not result.ok:
        return None
    sha = result.stdout_text().strip()
    kind = await git.run("cat-file", "-t", sha, cwd=repo_dir, check=False)
    return sha if kind.stdout_text().strip() == "tree" else None


async def compose(
    git: GitRunner, repo_dir: Path, trees: TreeCache, base: str, path: str, directory: str
) -> Path:
    """The export of `base` with `path` replaced by tree `directory` (cached)."""
    with tempfile.TemporaryDirectory(dir=trees.trees_dir.parent) as scratch:
        env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        await git.run("read-tree", base, cwd=repo_dir, extra_env=env)
        await git.run(
            "rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", path,
            cwd=repo_dir, extra_env=env,
        )  # fmt: skip
        await git.run("read-tree", f"--prefix={path}/", directory, cwd=repo_dir, extra_env=env)
        written = await git.run("write-tree", cwd=repo_dir, extra_env=env)
    return await trees.read(written.stdout_text().strip())


async def with_directory(
    git: GitRunner, repo_dir: Path, trees: TreeCache, tree: Path, path: str, commit: str
) -> Path:
    """The export `tree` with directory `path` as it is at `commit` (a commit here):
    `tree` itself when the directory is the same there, else the composite (cached)."""
    directory = await subtree(git, repo_dir, commit, path)
    if directory is None:
        raise GitError(f"{path} is not a directory at commit {commit[:12]}")
    if directory == await subtree(git, repo_dir, tree.name, path):
        return tree  # the same files: no other tree to make
    return await compose(git, repo_dir, trees, tree.name, path, directory)


class ComposedTrees:
    """(tree, path, commit) -> the tree `with_directory` made, so a known one needs no
    git (drift re-renders every heartbeat). Content-addressed, so never stale; bounded."""

    def __init__(self, kept: int = 1024) -> None:
        self._made: dict[tuple[str, str, str], str] = {}
        self._kept = kept

    def get(self, key: tuple[str, str, str]) -> str | None:
        return self._made.get(key)

    def remember(self, key: tuple[str, str, str], tree: str) -> None:
        if len(self._made) > self._kept:
            self._made.clear()
        self._made[key] = tree
