"""Writing to the remote: the commit-and-push loop of `GitWorkspace.commit_and_push`
and the proposal branch of pull-request mode, on a `WorkingCopy` already locked.

Writes are level-triggered and idempotent (DESIGN.md, Principles 2): before committing,
the remote branch's recent history is searched for a commit carrying the same value of
the idempotency trailer, so a retried promotion finds its earlier commit instead of
making a second one. Concurrent writers are handled by fetch, rebase and a bounded number
of retries with jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from shiplane.gitops.errors import GitError
from shiplane.gitops.history import find_by_trailer
from shiplane.gitops.staging import write_and_stage
from shiplane.gitops.working_copy import WorkingCopy

log = structlog.get_logger(__name__)

_SHA = frozenset("0123456789abcdef")


def is_full_sha(sha: str) -> bool:
    return len(sha) == 40 and set(sha.lower()) <= _SHA


@dataclass(frozen=True, slots=True)
class CommitResult:
    """Outcome of `commit_and_push`.

    `sha` is the commit that carries the change on the remote branch: the new commit, the
    earlier commit with the same idempotency trailer, or the unchanged head when the files
    already had the requested content. `attempts` counts push rounds (1 = no contention).
    """

    sha: str
    created: bool
    attempts: int
    # The commit the new one was made on, when it was made on the head the working copy
    # stood at (no rebase); None otherwise or when nothing was created.
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """Outcome of `propose`: branch `branch` holds `sha`, one commit on `base` (the
    base branch's head it was made on); `created` False when it was there already."""

    branch: str
    sha: str
    base: str
    created: bool
    target: str
    """The base branch (the one the cluster follows) the pull request merges into."""


async def commit_loop(
    wc: WorkingCopy,
    paths: Mapping[str, bytes | None],
    full_message: str,
    *,
    idempotency_trailer: str,
    key_value: str | None,
    base: str,
    may_exist: bool,
    history_depth: int,
    max_attempts: int,
) -> CommitResult:
    """Commit `paths` on `base` and push, looking for an earlier commit with the same
    trailer value first, rebasing and retrying when others pushed meanwhile."""
    committed = False
    attempt = 0
    while True:
        attempt += 1
        if key_value is not None and (may_exist or attempt > 1):
            existing = await find_by_trailer(
                wc.git, wc.repo_dir, wc.origin, idempotency_trailer, key_value, history_depth
            )
            if existing is not None:
                await wc.reset_to_origin()
                log.info("git.commit.exists", remote=wc.shown_url, sha=existing)
                return CommitResult(existing, created=False, attempts=attempt)
        if not committed:
            staged = await write_and_stage(wc.git, wc.repo_dir, paths)
            if not staged or not await wc.commit(full_message, staged.only):
                head = await wc.rev_parse("HEAD")
                return CommitResult(head, created=False, attempts=attempt)
            committed = True
        else:
            await wc.rebase_onto_origin()
            head, origin = await wc.rev_parse("HEAD", wc.origin)
            if head == origin:
                # Our change became empty: someone pushed the same content.
                return CommitResult(head, created=False, attempts=attempt)
        pushed = await wc.push()
        if pushed:
            sha = await wc.rev_parse("HEAD")
            log.info("git.commit.pushed", remote=wc.shown_url, sha=sha, attempts=attempt)
            parent = base if attempt == 1 else None
            return CommitResult(sha, created=True, attempts=attempt, parent=parent)
        if attempt >= max_attempts:
            with contextlib.suppress(GitError):
                await wc.fetch()  # leave the working copy at the current remote head
            await wc.reset_to_origin()
            raise GitError(
                f"push to {wc.shown_url} ({wc.branch}) was rejected {attempt} "
                "times because others kept pushing; nothing was pushed, retry later"
            )
        await asyncio.sleep(wc.backoff(attempt))
        await wc.fetch()


async def push_proposal(
    wc: WorkingCopy, branch: str, base: str, paths: Mapping[str, bytes | None], message: str
) -> Proposal | None:
    """Branch `branch` of the remote holding `paths` as one commit on `base` (the
    working copy's head, at origin): kept when it holds a commit on `base` already,
    else made again and force-pushed. None when `base` already has the changes. The
    working copy is back at origin afterwards, whatever happened."""
    existing = await proposal_head(wc, branch)
    if existing is not None:
        ancestor = await wc.git.run(
            "merge-base", "--is-ancestor", base, existing, cwd=wc.repo_dir, check=False
        )
        if ancestor.returncode == 0:
            return Proposal(branch, existing, base, created=False, target=wc.branch)
    wc.writing(True)
    try:
        staged = await write_and_stage(wc.git, wc.repo_dir, paths)
        if not staged or not await wc.commit(message, staged.only):
            return None
        sha = await wc.rev_parse("HEAD")
        # Forced: a branch made on an older head is replaced, never merged.
        result = await wc.network(
            "push", "--porcelain", "--force", "origin", f"HEAD:refs/heads/{branch}",
            cwd=wc.repo_dir,
        )  # fmt: skip
        if not result.ok:
            raise wc.git.error(("push",), result, f"pushing {branch} failed")
    finally:
        # The working copy goes back to the base branch, whatever happened.
        await wc.reset_to_origin()
    log.info("git.proposal.pushed", remote=wc.shown_url, branch=branch, sha=sha)
    return Proposal(branch, sha, base, created=True, target=wc.branch)


async def proposal_head(wc: WorkingCopy, branch: str) -> str | None:
    """The remote's head of `branch` (fetched), or None when it has no such branch."""
    local = f"refs/shiplane-proposals/{branch}"
    fetched = await wc.network(
        "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "origin",
        f"+refs/heads/{branch}:{local}",
        cwd=wc.repo_dir,
    )  # fmt: skip
    if not fetched.ok:
        return None
    result = await wc.git.run("rev-parse", local, cwd=wc.repo_dir, check=False)
    sha = result.stdout_text().strip()
    return sha if result.ok and is_full_sha(sha) else None
