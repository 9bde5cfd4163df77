"""Questions asked of commits the working copy has: a file's blob id, the files two
commits differ in, the remote branch's head, and fetching a commit from elsewhere.
Each is one git process (or one per remote tried); `GitWorkspace` resolves and locks."""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.gitops import composite
from shiplane.gitops.commits import is_full_sha
from shiplane.gitops.errors import GitError
from shiplane.gitops.paths import check_repo_path
from shiplane.gitops.working_copy import WorkingCopy


async def blob_id(wc: WorkingCopy, commit: str, path: str) -> str | None:
    """The blob id of `path` in the (resolved) `commit`; None when it has no such file."""
    rel = str(check_repo_path(path))
    result = await wc.git.run(
        "rev-parse", "--verify", "--quiet", f"{commit}:{rel}", cwd=wc.repo_dir, check=False
    )
    found = result.stdout_text().strip()
    return found if result.returncode == 0 and found else None


async def changed_files(
    wc: WorkingCopy, first: str, second: str, paths: Sequence[str]
) -> list[tuple[str, str]]:
    """(status letter, path) of each file under `paths` that differs between the
    (resolved) commits `first` and `second`."""
    result = await wc.git.run(
        "diff", "--name-status", "--no-renames", "-z", first, second, "--",
        *(str(check_repo_path(p)) for p in paths),
        cwd=wc.repo_dir,
    )  # fmt: skip
    fields = [f for f in result.stdout_text().split("\0") if f]
    return [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


async def remote_branch_head(wc: WorkingCopy) -> str:
    """The remote branch's head as the remote says now (`git ls-remote`)."""
    ref = f"refs/heads/{wc.branch}"
    result = await wc.network("ls-remote", "--", "origin", ref, cwd=wc.repo_dir)
    if not result.ok:
        raise wc.git.error(("ls-remote",), result, f"reading the head of {wc.shown_url} failed")
    for line in result.stdout_text().splitlines():
        sha, _, name = line.partition("\t")
        if name.strip() == ref and is_full_sha(sha.strip()):
            return sha.strip().lower()
    raise GitError(f"branch {wc.branch!r} does not exist on {wc.shown_url}")


async def fetch_commit(wc: WorkingCopy, commit: str, urls: Sequence[str]) -> bool:
    """Fetch `commit` from the first of `urls` that has it; whether it is here now."""
    for url in urls:
        # `--`: a configured url can never be read as an option.
        await wc.network(
            "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", url, commit,
            cwd=wc.repo_dir,
        )  # fmt: skip
        if await composite.has_commit(wc.git, wc.repo_dir, commit):
            return True
    return False
