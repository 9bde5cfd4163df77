"""A local working copy of a GitOps repository: sync, commit + push with retry, exports.

Layout under `cache_dir` (one directory per remote, keyed by a hash of its URL without
credentials):

    <key>/lock          flock held while the working copy is changed
    <key>/repo/         the working copy (a normal clone of one branch)
    <key>/trees/<sha>/  exact files of a commit, exported for renderers, reused

Writes (commits.py) are level-triggered and idempotent: a retried promotion finds its
earlier commit by its idempotency trailer; concurrent writers are handled by fetch,
rebase and bounded retries; a rebase conflict aborts and leaves the working copy equal
to the remote branch. Git plumbing is in working_copy.py, syncs ahead in sync_ahead.py.

The hot path (a promotion: sync, export, commit, push) runs few git processes: a working
copy that already stands at origin/<branch> is not reset (no checkout, reset or clean),
and a caller that synced moments ago commits without fetching again (a branch that moved
meanwhile is found by the push, then fetched, rebased and retried). A marker file in
`.git/` says a write was under way: a process that died mid-write leaves it behind, and
the next call resets the working copy in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import structlog

from shiplane.gitops import composite
from shiplane.gitops.commits import (
    CommitResult,
    Proposal,
    commit_loop,
    is_full_sha,
    push_proposal,
)
from shiplane.gitops.credentials import GitCredentials, askpass_setup, resolve_credentials
from shiplane.gitops.errors import GitConflictError, GitError
from shiplane.gitops.gitcmd import GitRunner, base_environment, config_options
from shiplane.gitops.history import CommitInfo, read_log
from shiplane.gitops.locking import LockTimeout, file_lock
from shiplane.gitops.messages import format_commit_message
from shiplane.gitops.paths import check_repo_path
from shiplane.gitops.reading import blob_id, changed_files, fetch_commit, remote_branch_head
from shiplane.gitops.redact import scrub
from shiplane.gitops.remotes import cache_key, normalise_remote
from shiplane.gitops.sync_ahead import SyncAhead
from shiplane.gitops.trees import TREE_IDLE_SECONDS, TREES_KEPT, TreeCache
from shiplane.gitops.working_copy import WorkingCopy

log = structlog.get_logger(__name__)

_SHA = frozenset("0123456789abcdef")
MAINTAIN_EVERY = 50
"""Commits between two runs of git's housekeeping (in the background)."""


class GitWorkspace:
    """One local working copy of `remote_url`'s `branch`, shared through `cache_dir`.

    Credentials: `credentials`, else userinfo in `remote_url` (removed from the URL git
    sees), else the SHIPLANE_GIT_USERNAME / SHIPLANE_GIT_PASSWORD environment variables.
    """

    def __init__(
        self,
        remote_url: str,
        cache_dir: Path,
        *,
        branch: str = "main",
        credentials: GitCredentials | None = None,
        author_name: str = "Shiplane",
        author_email: str = "shiplane@localhost",
        git_binary: str | None = None,
        timeout: float = 120.0,
        max_attempts: int = 12,
        history_depth: int = 1000,
        lock_timeout: float = 300.0,
        trees_kept: int = TREES_KEPT,
        tree_idle: float = TREE_IDLE_SECONDS,
        maintain_every: int = MAINTAIN_EVERY,
    ) -> None:
        clean_url, credentials = resolve_credentials(remote_url, credentials)
        if not branch or branch.startswith("-") or any(c in branch for c in " ~^:?*[\\"):
            raise ValueError(f"invalid branch name {branch!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.remote_url = normalise_remote(clean_url)
        self.branch = branch
        self.cache_dir = Path(cache_dir)
        self.root = self.cache_dir / cache_key(self.remote_url)
        self.repo_dir = self.root / "repo"
        self.trees_dir = self.root / "trees"
        self.max_attempts = max_attempts
        self.history_depth = history_depth
        self.lock_timeout = lock_timeout
        self._lock_path = self.root / "lock"
        self._mutex = asyncio.Lock()
        extra, secrets = askpass_setup(self.cache_dir, credentials)
        self._git = GitRunner(
            binary=git_binary or shutil.which("git") or "/usr/bin/git",
            env=base_environment(extra),
            options=config_options(author_name, author_email),
            secrets=secrets,
            timeout=timeout,
        )
        self._wc = WorkingCopy(
            self._git,
            root=self.root,
            repo_dir=self.repo_dir,
            remote_url=self.remote_url,
            branch=branch,
            shown_url=scrub(self.remote_url),
        )
        self._origin = self._wc.origin
        # One worker thread for housekeeping and exports ahead (trees.py says why not
        # asyncio tasks); FIFO, so `settle` can wait for everything submitted before it.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shiplane-git")
        self.trees = TreeCache(
            self._git,
            self.repo_dir,
            self.trees_dir,
            self._background,
            kept=trees_kept,
            idle=tree_idle,
            label=scrub(self.remote_url),
        )
        self._commits, self._maintain_every = 0, maintain_every
        self._ahead = SyncAhead()
        self._composites = composite.ComposedTrees()
        self.on_head: list[Callable[[str], None]] = []
        """Told the remote head after each sync and push (the config watcher looks then
        instead of waiting for its next poll). Called synchronously: keep it cheap."""

    def __repr__(self) -> str:
        return f"GitWorkspace({scrub(self.remote_url)!r}, branch={self.branch!r})"

    # --- public API ------------------------------------------------------------------

    async def sync(self, *, ahead_within: float = 0.0) -> str:
        """Clone if absent, else fetch and hard-reset to origin/<branch>; the HEAD sha.

        `ahead_within` (seconds): take the result of a `sync_ahead` started at most that
        long ago, when nothing was pushed from here since, instead of fetching again:
        the head as the remote had it then (a push to a branch that moved since is
        rejected and rebased as always, so what is committed stays right)."""
        ahead = self._ahead.take(ahead_within)
        if ahead is not None:
            try:
                return await asyncio.shield(ahead)
            except GitError:
                pass  # fetch again below, and report that attempt's failure
        return await self._sync_now()

    async def _sync_now(self) -> str:
        async with self._locked():
            head = await self._sync_locked()
        self._tell_head(head)
        return head

    def sync_ahead(self) -> None:
        """Start a sync now, for a `sync(ahead_within=...)` expected soon (a deploy that
        follows a request once its queue and gate steps are written): the fetch runs
        beside them. One at a time; returns at once."""
        self._ahead.start(self._sync_now)

    def _tell_head(self, sha: str) -> None:
        for listener in self.on_head:
            try:
                listener(sha)
            except Exception:  # a listener's bug must not fail a git operation
                log.exception("git.head_listener_failed")

    async def file_id(self, sha: str, path: str) -> str | None:
        """The blob id of `path` in commit `sha` (fetched if not here yet); None when
        the commit has no such file. Equal ids mean equal content, read nothing."""
        return await blob_id(self._wc, await self._resolve_commit(sha), path)

    async def changes(self, old: str, new: str, *paths: str) -> list[tuple[str, str]]:
        """(status letter, path) of each file under `paths` that differs between commits
        `old` and `new` (both fetched if not here yet): `A`dded, `D`eleted, `M`odified,
        `T`ype changed. One process."""
        first, second = await self._resolve_commit(old), await self._resolve_commit(new)
        return await changed_files(self._wc, first, second, paths)

    async def head(self) -> str:
        """The working copy's HEAD (equal to origin/<branch> after any public call)."""
        if not self._wc.cloned():
            raise GitError(f"{self!r} is not cloned yet; call sync() first")
        return await self._wc.rev_parse("HEAD")

    async def contains(self, commit: str, later: str) -> bool:
        """Does `later` contain `commit` (the same commit, or a descendant)? A deploy
        target (Flux, Argo CD) may report a newer commit of the branch than the one a
        promotion pushed; that one still carries the promotion's pin. A `later` this copy
        has not fetched yet is fetched once."""
        if commit == later:
            return True
        for attempt in range(2):
            result = await self._git.run(
                "merge-base", "--is-ancestor", commit, later, cwd=self.repo_dir, check=False
            )
            if result.returncode in (0, 1):
                return result.returncode == 0
            if attempt == 0:
                await self.sync()  # `later` unknown here yet: fetch, then ask again
        return False

    async def remote_head(self) -> str:
        """The remote branch's head as the remote says now (`git ls-remote`: one round
        trip, no objects fetched, the working copy untouched)."""
        if not self._wc.cloned():
            return await self.sync()
        return await remote_branch_head(self._wc)

    async def commit_and_push(
        self,
        changes: Mapping[str, bytes | None],
        *,
        message: str,
        trailers: Mapping[str, str],
        idempotency_trailer: str = "Shiplane-Promotion",
        fetch: bool = True,
        may_exist: bool = True,
    ) -> CommitResult:
        """Write `changes` (path -> content, None deletes), commit and push.

        Pushes nothing when a commit on the remote branch already carries the same value
        of `idempotency_trailer`, or when the files already have this content.

        `fetch=False`: the caller synced moments ago (a deploy does, to validate the tree
        it commits), so commit on the remote head as last fetched; when the branch moved
        meanwhile, the push is rejected and the usual fetch, trailer check, rebase and
        retry follow, so the result is the same, one fetch cheaper.

        `may_exist=False`: the caller knows that no commit carries this trailer value yet
        (a deploy whose group never ran before: docs/gitops.md), so the first attempt
        skips the history lookup; a rejected push looks as usual.
        """
        paths = {str(check_repo_path(p)): content for p, content in changes.items()}
        if not paths:
            raise ValueError("commit_and_push needs at least one change")
        full_message = format_commit_message(message, trailers)
        key_value = trailers.get(idempotency_trailer)
        self._ahead.drop()  # it would not see this push
        async with self._locked():
            base = await self._sync_locked() if fetch else await self._stand_at_origin()
            self._wc.writing(True)
            try:
                result = await commit_loop(
                    self._wc,
                    paths,
                    full_message,
                    idempotency_trailer=idempotency_trailer,
                    key_value=key_value,
                    base=base,
                    may_exist=may_exist,
                    history_depth=self.history_depth,
                    max_attempts=self.max_attempts,
                )
            except GitConflictError:
                raise  # the working copy was reset already
            except Exception:
                # Do not leave an unpushed commit behind for head() or read_tree() to see.
                with contextlib.suppress(GitError):
                    await self._wc.reset_to_origin()
                raise
            self._wc.writing(False)  # every way out of the loop leaves HEAD pushed and clean
        self._tell_head(result.sha)
        if result.created:
            self.trees.prefetch(result.sha)
            self._commits += 1
            if self._commits % self._maintain_every == 0:
                self._maintain_in_background()
        return result

    async def propose(
        self, branch: str, changes: Mapping[str, bytes | None], *, message: str,
        trailers: Mapping[str, str],
    ) -> Proposal | None:  # fmt: skip
        """Put `changes` on branch `branch` of the remote as one commit on the base
        branch's current head (pull-request mode: the base branch is never pushed to).

        Safe to repeat: when `branch` already holds a commit made on the current head,
        it is kept (`created` False). When the base moved since, the commit is made
        again on the new head and the branch is force-pushed: the pull request stays
        mergeable without a rebase of anyone's work (the branch is Shiplane's alone).
        None when the base branch already holds the changes (nothing to propose)."""
        if branch == self.branch or not branch or branch.startswith("-"):
            raise ValueError(f"invalid proposal branch {branch!r}")
        paths = {str(check_repo_path(p)): content for p, content in changes.items()}
        full_message = format_commit_message(message, trailers)
        self._ahead.drop()
        async with self._locked():
            base = await self._sync_locked()
            return await push_proposal(self._wc, branch, base, paths, full_message)

    def _maintain_in_background(self) -> None:
        """git's own housekeeping (packing loose objects), which the commands we run do
        not start by themselves (`maintenance.auto=false`: a process per commit and
        fetch on the hot path); it does work only past git's thresholds."""

        def maintain() -> None:
            try:
                self._git.run_sync("maintenance", "run", "--auto", "--quiet", cwd=self.repo_dir)
            except GitError as exc:
                log.info("git.maintenance_failed", remote=self._shown_url, error=str(exc))

        self._background.submit(maintain)

    async def settle(self) -> None:
        """Wait for the background work submitted so far (exports ahead, pruning,
        housekeeping): for tests and tools."""
        await asyncio.wrap_future(self._background.submit(lambda: None))

    async def read_tree(self, sha: str) -> Path:
        """A directory holding exactly the files of commit `sha` (cached, reused).

        The directory is shared and must be treated as read-only.
        """
        if is_full_sha(sha):
            # A full sha names its tree: an export already made needs no git at all, and
            # one of a commit we have needs no resolving first.
            cached = self.trees.cached(sha.lower())
            if cached is not None:
                return cached
            with contextlib.suppress(GitError):
                return await self.trees.read(sha.lower())
        return await self.trees.read(await self._resolve_commit(sha))

    async def last_change(self, commit: str, path: str, *, fetch_from: Sequence[str] = ()) -> str:
        """The newest commit at or before `commit` that changed `path` (fetched like
        `tree_with` when missing). What a git source records for an app: Shiplane's own
        pin commits (or changes to other apps) leave it alone, so they make no release.
        GitError when the commit is nowhere or `path` is not a directory there."""
        commit = await self._have_commit(commit.lower(), fetch_from)
        if await composite.subtree(self._git, self.repo_dir, commit, path) is None:
            raise GitError(f"{path} is not a directory at commit {commit[:12]}")
        result = await self._git.run(
            "rev-list", "-1", commit, "--", path, cwd=self.repo_dir, check=False
        )
        found = result.stdout_text().strip()
        return found if result.ok and found else commit

    async def _have_commit(self, commit: str, fetch_from: Sequence[str]) -> str:
        if not is_full_sha(commit) and not (len(commit) == 64 and set(commit) <= _SHA):
            raise ValueError(f"not a full commit sha: {commit!r}")
        if not self._wc.cloned():
            await self.sync()
        if await composite.has_commit(self._git, self.repo_dir, commit):
            return commit
        async with self._locked():
            if await fetch_commit(self._wc, commit, ("origin", *fetch_from)):
                return commit
        where = ", ".join(scrub(u) for u in (self.remote_url, *fetch_from))
        raise GitError(f"commit {commit} is not in {where}")

    async def tree_with(
        self, tree: Path, path: str, commit: str, *, fetch_from: Sequence[str] = ()
    ) -> Path:
        """The export `tree` (made by `read_tree`) with directory `path` as it was at
        `commit` (composite.py): cached, shared, read-only. A commit this working copy
        lacks is fetched from origin, then from `fetch_from` (other repositories the
        commit may come from). GitError when it is nowhere or has no `path`."""
        if tree.parent != self.trees_dir:
            raise ValueError(f"{tree} is not a tree exported by this workspace")
        key = (tree.name, path, commit.lower())
        made = self._composites.get(key)
        if made is not None:
            return tree if made == tree.name else await self.trees.read(made)
        commit = await self._have_commit(commit.lower(), fetch_from)
        found = await composite.with_directory(
            self._git, self.repo_dir, self.trees, tree, path, commit
        )
        self._composites.remember(key, found.name)
        return found

    async def export(self, sha: str, dest: Path) -> None:
        """Write exactly the files of commit `sha` into `dest` (created; must be empty)."""
        await self.trees.export_into(await self._resolve_commit(sha), dest)

    def prune_trees(self, keep: int | None = None, idle: float | None = None) -> list[str]:
        """Delete exported trees beyond the `keep` most recently used ones that nobody
        has read in `idle` seconds (trees.py); the removed shas. Runs by itself every few
        exports."""
        return self.trees.prune(keep, idle)

    async def log(self, path: str | None = None, limit: int = 20) -> list[CommitInfo]:
        """Newest-first history of origin/<branch> (as last fetched), optionally of `path`."""
        if not self._wc.cloned():
            raise GitError(f"{self!r} is not cloned yet; call sync() first")
        return await read_log(self._git, self.repo_dir, self._origin, path, limit)

    # --- internals -------------------------------------------------------------------

    @property
    def _shown_url(self) -> str:
        return scrub(self.remote_url)

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        # The asyncio lock orders tasks of this object; the file lock excludes other
        # objects and processes using the same cache directory.
        async with self._mutex:
            try:
                async with file_lock(self._lock_path, timeout=self.lock_timeout):
                    yield
            except LockTimeout as exc:
                raise GitError(f"working copy of {self._shown_url} is busy: {exc}") from None

    async def _sync_locked(self) -> str:
        if not self._wc.cloned():
            await self._wc.clone()  # a fresh clone stands at origin, clean
            return await self._wc.rev_parse("HEAD")
        await self._wc.fetch()
        return await self._stand_at_origin()

    async def _stand_at_origin(self) -> str:
        """Make the working copy equal origin/<branch> as last fetched; its sha. Resets
        only when needed: a write was under way (or died), a rebase was left behind, or
        HEAD is elsewhere. Otherwise the copy is clean already: every public call leaves
        it so, and only this process group writes to it (under the file lock)."""
        if not self._wc.cloned():
            return await self._sync_locked()
        if not self._wc.interrupted():
            head, origin = await self._wc.rev_parse("HEAD", self._origin)
            if head == origin:
                return origin
        await self._wc.reset_to_origin()
        return await self._wc.rev_parse("HEAD")

    async def _resolve_commit(self, sha: str) -> str:
        if not sha or not set(sha.lower()) <= _SHA or len(sha) > 64:
            raise ValueError(f"not a commit sha: {sha!r}")
        if not self._wc.cloned():
            await self.sync()
        probe = f"{sha}^{{commit}}"
        result = await self._git.run(
            "rev-parse", "--verify", "--quiet", probe, cwd=self.repo_dir, check=False
        )
        if result.returncode != 0:
            async with self._locked():
                await self._wc.fetch()
            result = await self._git.run(
                "rev-parse", "--verify", "--quiet", probe, cwd=self.repo_dir, check=False
            )
            if result.returncode != 0:
                raise GitError(f"commit {sha} is not on {self._shown_url} ({self.branch})")
        return result.stdout_text().strip()
