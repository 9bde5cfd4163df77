"""Writing a change into the working copy and staging it, for the next commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shiplane.gitops.errors import GitError
from shiplane.gitops.gitcmd import GitRunner


@dataclass(frozen=True)
class Staged:
    """What the next commit takes: the index as staged (`only` empty), or just the
    files `only` from the working copy (`git commit --only`)."""

    only: tuple[str, ...] = ()


async def write_and_stage(
    git: GitRunner, repo_dir: Path, changes: Mapping[str, bytes | None]
) -> Staged | None:
    """Write the files (None deletes) and stage them; None when each already has its
    content. The working copy must stand clean at HEAD, so its files are HEAD's: a
    file that was there is tracked, and when every changed file was, nothing is staged
    (the commit names them: one git process instead of two)."""
    to_stage: list[str] = []
    all_tracked = True
    for rel, content in changes.items():
        target = repo_dir / rel
        # Refuse to follow a symlink committed to the repository out of the working
        # copy: the write must land in the tree git tracks.
        _refuse_symlinked_dirs(repo_dir, rel)
        if content is not None and _holds(target, content):
            continue
        if content is not None:
            all_tracked = all_tracked and target.is_file() and not target.is_symlink()
            target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        if content is None:
            if target.exists():
                target.unlink()
                to_stage.append(rel)
            elif await _tracked(git, repo_dir, rel):
                to_stage.append(rel)
            continue
        target.write_bytes(content)
        to_stage.append(rel)
    if not to_stage:
        return None
    if all_tracked:
        return Staged(only=tuple(to_stage))
    await git.run("add", "--all", "--", *to_stage, cwd=repo_dir)
    return Staged()


async def _tracked(git: GitRunner, repo_dir: Path, rel: str) -> bool:
    result = await git.run("ls-files", "--error-unmatch", "--", rel, cwd=repo_dir, check=False)
    return result.returncode == 0


def _refuse_symlinked_dirs(root: Path, rel: str) -> None:
    current = root
    for part in PurePosixPath(rel).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise GitError(f"refusing to write {rel}: {current.relative_to(root)} is a symlink")


def _holds(target: Path, content: bytes) -> bool:
    """Whether `target` is a regular file with exactly `content`."""
    try:
        return not target.is_symlink() and target.is_file() and target.read_bytes() == content
    except OSError:
        return False
