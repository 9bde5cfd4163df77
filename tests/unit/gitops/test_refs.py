"""Reading refs without git agrees with `git rev-parse`, and declines what it cannot read."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shiplane.gitops.refs import read_ref


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for n in range(2):
        (repo / "f").write_text(str(n))
        git(repo, "add", "f")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", f"c{n}")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD~1")
    return repo


def test_loose_and_packed_refs_and_head_agree_with_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    dot_git = repo / ".git"
    for name in ("HEAD", "refs/heads/main", "refs/remotes/origin/main"):
        assert read_ref(dot_git, name) == git(repo, "rev-parse", name)
    git(repo, "pack-refs", "--all")
    assert not (dot_git / "refs/remotes/origin/main").exists()
    for name in ("HEAD", "refs/heads/main", "refs/remotes/origin/main"):
        assert read_ref(dot_git, name) == git(repo, "rev-parse", name)
    # A ref moved after packing: the loose file wins, as in git.
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    assert read_ref(dot_git, "refs/remotes/origin/main") == git(repo, "rev-parse", "HEAD")


def test_a_detached_head_is_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", "--detach", first)
    assert read_ref(repo / ".git", "HEAD") == first


def test_what_cannot_be_read_simply_is_left_to_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    dot_git = repo / ".git"
    assert read_ref(dot_git, "refs/heads/nope") is None
    assert read_ref(dot_git, "main") is None  # not a full ref name
    assert read_ref(dot_git, "refs/../HEAD") is None
    git(repo, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    assert read_ref(dot_git, "refs/heads/alias") is None  # a symbolic chain
    (dot_git / "refs/heads/broken").write_text("not a sha\n")
    assert read_ref(dot_git, "refs/heads/broken") is None
    (dot_git / "reftable").mkdir()
    assert read_ref(dot_git, "HEAD") is None
