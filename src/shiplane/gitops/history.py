"""Reading a branch's history: the log (with trailers) and the commit that carries a
trailer value (how a retried promotion finds the commit it made before)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shiplane.gitops.gitcmd import GitRunner
from shiplane.gitops.messages import parse_trailer_lines
from shiplane.gitops.paths import check_repo_path


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    committed_at: datetime
    subject: str
    trailers: tuple[tuple[str, str], ...]

    def trailer(self, key: str) -> str | None:
        """The last value of trailer `key` (case-insensitive), if any."""
        found = [v for k, v in self.trailers if k.lower() == key.lower()]
        return found[-1] if found else None


async def read_log(
    git: GitRunner, repo_dir: Path, ref: str, path: str | None, limit: int
) -> list[CommitInfo]:
    """Newest-first history of `ref`, optionally of `path`."""
    args = [
        "log",
        f"--max-count={max(1, limit)}",
        "-z",
        "--format=%H%x1f%an%x1f%ae%x1f%cI%x1f%s%x1f%(trailers:only,unfold)",
        ref,
        "--",
    ]
    if path is not None:
        args.append(str(check_repo_path(path)))
    result = await git.run(*args, cwd=repo_dir)
    entries = []
    for record in result.stdout_text().split("\0"):
        if not record.strip():
            continue
        sha, name, email, date, subject, trailers = record.strip("\n").split("\x1f", 5)
        entries.append(
            CommitInfo(
                sha=sha,
                author_name=name,
                author_email=email,
                committed_at=datetime.fromisoformat(date),
                subject=subject,
                trailers=parse_trailer_lines(trailers),
            )
        )
    return entries


async def find_by_trailer(
    git: GitRunner, repo_dir: Path, ref: str, key: str, value: str, depth: int
) -> str | None:
    """The newest of `ref`'s last `depth` commits whose trailer `key` is exactly `value`."""
    # --grep narrows the scan cheaply; the trailer itself is then compared exactly, so
    # "prm-1" does not match a commit of "prm-10".
    result = await git.run(
        "log", f"--max-count={depth}", "-z", "--fixed-strings",
        f"--grep={key}: {value}",
        f"--format=%H%x1f%(trailers:key={key},valueonly,separator=%x1f)",
        ref, "--",
        cwd=repo_dir,
    )  # fmt: skip
    for record in result.stdout_text().split("\0"):
        sha, *values = record.strip("\n").split("\x1f")
        if sha and value in (v.strip() for v in values):
            return sha
    return None
