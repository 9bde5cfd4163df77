"""The working copy's git plumbing: clone, fetch, reset, commit, push and rebase, each a
git process (or a ref read from its file), with the retry rules for transport failures
and for pushes that lost a race. `GitWorkspace` (workspace.py) decides when to call them,
under its lock; this module only knows how.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import overload

import structlog

from shiplane.gitops.errors import GitConflictError, GitError
from shiplane.gitops.gitcmd import GitRunner
from shiplane.gitops.process import ProcessResult
from shiplane.gitops.refs import read_ref

log = structlog.get_logger(__name__)

_BACKOFF_BASE = 0.2
_BACKOFF_CAP = 5.0
# Transport failures worth another try (a server dropping connections under load;
# `git daemon` listens with a backlog of 5).
_TRANSIENT = (
    "connection reset",
    "remote end hung up unexpectedly",
    "early eof",
    "connection refused",
    "connection timed out",
    "returned error: 502",
    "returned error: 503",
    "returned error: 504",
)
_NETWORK_TRIES = 3
# In `.git/` while a commit changes the working copy (workspace.py's module docstring).
WRITING_MARKER = "shiplane-writing"
# Texts of `git push --porcelain` / stderr that mean "someone else moved the branch":
# worth a fetch, rebase and retry. Anything else (auth, hooks, network) is an error.
_RETRYABLE_PUSH = (
    "fetch first",
    "non-fast-forward",
    "stale info",
    "failed to lock",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
)


class WorkingCopy:
    """One clone of `branch` of `remote_url` at `repo_dir` (made inside `root`)."""

    def __init__(
        self, git: GitRunner, *, root: Path, repo_dir: Path, remote_url: str, branch: str,
        shown_url: str,
    ) -> None:  # fmt: skip
        self.git = git
        self.root = root
        self.repo_dir = repo_dir
        self.remote_url = remote_url
        self.branch = branch
        self.shown_url = shown_url  # the URL without credentials, for messages
        self.origin = f"refs/remotes/origin/{branch}"

    def cloned(self) -> bool:
        return (self.repo_dir / ".git").is_dir()

    def interrupted(self) -> bool:
        git_dir = self.repo_dir / ".git"
        return any(
            (git_dir / marker).exists()
            for marker in (WRITING_MARKER, "rebase-merge", "rebase-apply")
        )

    def writing(self, on: bool) -> None:
        marker = self.repo_dir / ".git" / WRITING_MARKER
        if on:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)

    async def clone(self) -> None:
        # Clone into a temporary sibling and rename: an interrupted clone never leaves a
        # half-made working copy that later calls would trust.
        self.root.mkdir(parents=True, exist_ok=True)
        if self.repo_dir.exists():
            shutil.rmtree(self.repo_dir)
        tmp = Path(tempfile.mkdtemp(prefix=".clone.", dir=self.root))
        try:
            result = await self.network(
                "clone", "--quiet", "--no-tags", "--single-branch",
                f"--branch={self.branch}", "--", self.remote_url, str(tmp / "repo"),
                cwd=tmp,
            )  # fmt: skip
            if not result.ok:
                raise self.git.error(
                    ("clone",), result, f"cloning {self.shown_url} (branch {self.branch}) failed"
                )
            (tmp / "repo").rename(self.repo_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def network(self, *args: str, cwd: Path) -> ProcessResult:
        """Run a command that talks to the remote, retrying transient transport errors."""
        for attempt in range(1, _NETWORK_TRIES + 1):
            result = await self.git.run(*args, cwd=cwd, check=False)
            text = result.stderr_text().lower()
            if result.ok or attempt == _NETWORK_TRIES or not any(t in text for t in _TRANSIENT):
                return result
            log.info("git.network.retry", remote=self.shown_url, command=args[0])
            await asyncio.sleep(self.backoff(attempt))
        raise AssertionError("unreachable")

    async def fetch(self) -> None:
        refspec = f"+refs/heads/{self.branch}:{self.origin}"
        result = await self.network(
            "fetch",
            "--quiet",
            "--no-tags",
            "--prune",
            "--no-write-fetch-head",
            "origin",
            refspec,
            cwd=self.repo_dir,
        )
        if not result.ok:
            raise self.git.error(
                ("fetch",), result, f"fetching {self.shown_url} (branch {self.branch}) failed"
            )

    async def reset_to_origin(self) -> None:
        for marker in ("rebase-merge", "rebase-apply"):
            if (self.repo_dir / ".git" / marker).exists():
                await self.git.run("rebase", "--abort", cwd=self.repo_dir, check=False)
        await self.git.run(
            "checkout", "--quiet", "--force", "-B", self.branch, self.origin, cwd=self.repo_dir
        )
        await self.git.run("reset", "--quiet", "--hard", self.origin, cwd=self.repo_dir)
        await self.git.run("clean", "-ffdxq", cwd=self.repo_dir)
        self.writing(False)

    @overload
    async def rev_parse(self, ref: str, /) -> str: ...
    @overload
    async def rev_parse(self, ref: str, other: str, /) -> tuple[str, str]: ...
    async def rev_parse(self, *refs: str) -> str | tuple[str, str]:
        read = [read_ref(self.repo_dir / ".git", ref) for ref in refs]
        if all(read):
            shas = [sha for sha in read if sha]  # the refs' files: no process
        else:
            result = await self.git.run("rev-parse", *refs, cwd=self.repo_dir)
            shas = result.stdout_text().split()
        if len(refs) == 1:
            return shas[0]
        return shas[0], shas[1]

    async def commit(self, message: str, only: Sequence[str] = ()) -> bool:
        """Commit what is staged, or the files `only` as they are in the working copy
        (files git tracks: staging them would be a process more); False when nothing
        changed (git said so, and the index agrees: asking first would cost a process
        on every commit)."""
        pathspec = ("--only", "--", *only) if only else ()
        result = await self.git.run(
            "commit", "--no-verify", "--cleanup=whitespace", "-F", "-", *pathspec,
            cwd=self.repo_dir, stdin=message.encode(), check=False,
        )  # fmt: skip
        if result.ok:
            return True
        if only:  # the files differ from HEAD (written just now): a real failure
            raise self.git.error(("commit",), result)
        staged = await self.git.run("diff", "--cached", "--quiet", cwd=self.repo_dir, check=False)
        if staged.returncode == 0:
            return False
        raise self.git.error(("commit",), result)

    async def push(self) -> bool:
        """True when pushed; False when rejected because the branch moved."""
        result = await self.network(
            "push", "--porcelain", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.repo_dir
        )
        if result.ok:
            return True
        if self.rejected_by_race(result):
            log.info("git.push.rejected", remote=self.shown_url, branch=self.branch)
            return False
        raise self.git.error(("push",), result, f"pushing to {self.shown_url} failed")

    @staticmethod
    def rejected_by_race(result: ProcessResult) -> bool:
        text = (result.stdout_text() + "\n" + result.stderr_text()).lower()
        return any(reason in text for reason in _RETRYABLE_PUSH)

    async def rebase_onto_origin(self) -> None:
        result = await self.git.run(
            "rebase", "--no-autostash", self.origin, cwd=self.repo_dir, check=False
        )
        if result.ok:
            return
        unmerged = await self.git.run(
            "diff", "--name-only", "--diff-filter=U", cwd=self.repo_dir, check=False
        )
        files = sorted(set(unmerged.stdout_text().split()))
        detail = self.git.clean(result.stdout_text() + "\n" + result.stderr_text())
        await self.reset_to_origin()
        if not files:
            raise GitError(f"rebasing onto {self.shown_url} ({self.branch}) failed: {detail}")
        raise GitConflictError(
            f"conflict with changes pushed to {self.shown_url} ({self.branch}) in "
            f"{', '.join(files)}; nothing was pushed and the working copy was reset",
            files=files,
        )

    def backoff(self, attempt: int) -> float:
        # Exponential with full jitter: writers that collided spread out instead of
        # colliding again in lock step. Each contended round lands one writer's commit,
        # so the retry budget must cover about as many rounds as there are writers: 0.2 s
        # doubling to a 5 s cap over 12 attempts waits ~18 s on average (at most ~36 s),
        # which lets ~20 writers racing on one branch all land.
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * (2 ** (attempt - 1)))
        return random.uniform(0.0, ceiling)
