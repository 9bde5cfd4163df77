"""The files a push changed, as a forge's push payload lists them. Pure.

Gitea, GitHub and GitLab describe a push alike: `commits`, each with `added`,
`modified` and `removed` file paths, and a total (`total_commits` on Gitea,
`total_commits_count` on GitLab) when the list may be cut (GitLab lists at most 20
commits; GitHub caps its list too and sets no total, so a `size`/`distinct_size` is
used when present). When the list is cut, or a commit does not list its files, the
answer is None: the caller then diffs the two commits itself.
"""

from __future__ import annotations

from typing import Any

_TOTAL_KEYS = ("total_commits", "total_commits_count", "size")


def changed_paths(payload: dict[str, Any]) -> tuple[str, ...] | None:
    """Sorted unique paths the pushed commits touched, or None when unknown."""
    commits = payload.get("commits")
    if not isinstance(commits, list):
        return None
    for key in _TOTAL_KEYS:
        total = payload.get(key)
        if isinstance(total, int) and not isinstance(total, bool) and total > len(commits):
            return None
    paths: set[str] = set()
    for commit in commits:
        if not isinstance(commit, dict):
            return None
        lists = [commit.get(k) for k in ("added", "modified", "removed")]
        if not all(isinstance(v, list) for v in lists):
            return None
        for files in lists:
            assert isinstance(files, list)
            paths.update(f.strip("/") for f in files if isinstance(f, str) and f.strip("/"))
    return tuple(sorted(paths))
