"""GitWorkspace against real bare repositories over every supported transport."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from shiplane.gitops import GitWorkspace, Pin, PinImage, dump_pin, gitcmd, pin_path
from shiplane.gitops.credentials import GitCredentials
from shiplane.gitops.pins import promotion_message, promotion_trailers
from tests.integration.gitops.conftest import (
    HTTP_PASSWORD,
    HTTP_USER,
    BareRepoFactory,
    git,
    remote_url,
    trailer_count,
)

TRANSPORTS = ["path", "file", "git", "http"]


def pin_bytes(app: str, tag: str = "1.0.0") -> bytes:
    repo = f"registry.example/shop/{app}"
    return dump_pin(
        Pin(
            app=app,
            release=f"rel-{'ab' * 10}",
            alias=tag,
            images=(PinImage(repository=repo, ref=f"{repo}:{tag}"),),
        )
    )


def promotion(prm: str, app: str = "checkout", env: str = "staging") -> dict[str, object]:
    release = f"rel-{'ab' * 10}"
    return {
        "message": promotion_message(app, "1.0.0", release, env),
        "trailers": promotion_trailers(prm, release, "alice"),
    }


@pytest.fixture
def url_for(git_daemon: int, http_server: object) -> object:
    port = http_server.port  # type: ignore[attr-defined]

    def make(transport: str, bare: Path) -> str:
        return remote_url(transport, bare, git_port=git_daemon, http_port=port)

    return make


def workspace(url: str, cache: Path, transport: str, **kwargs: object) -> GitWorkspace:
    creds = GitCredentials(HTTP_USER, HTTP_PASSWORD) if transport == "http" else None
    return GitWorkspace(url, cache, credentials=creds, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_clone_commit_push_and_idempotent_rerun(
    transport: str, bare_repo: BareRepoFactory, url_for, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = workspace(url_for(transport, bare), tmp_path / "cache", transport)
    path = pin_path("staging", "checkout")

    async def scenario() -> None:
        first_head = await ws.sync()
        assert first_head == git("rev-parse", "main", cwd=bare).strip()
        result = await ws.commit_and_push({path: pin_bytes("checkout")}, **promotion("prm-1"))
        assert result.created and result.attempts == 1
        assert result.sha == git("rev-parse", "main", cwd=bare).strip()
        assert await ws.head() == result.sha
        # The same promotion again: found by its trailer, nothing pushed.
        again = await ws.commit_and_push({path: pin_bytes("checkout")}, **promotion("prm-1"))
        assert (again.sha, again.created) == (result.sha, False)
        # Also from a fresh working copy (another worker, or after a crash).
        other = workspace(url_for(transport, bare), tmp_path / "other-cache", transport)
        third = await other.commit_and_push({path: pin_bytes("checkout")}, **promotion("prm-1"))
        assert (third.sha, third.created) == (result.sha, False)

    asyncio.run(scenario())
    assert trailer_count(bare, "Shiplane-Promotion", "prm-1") == 1
    message = git("log", "-1", "--format=%B", "main", cwd=bare)
    assert message == (
        f"promote checkout 1.0.0 (rel-ababab) to staging\n\n"
        f"Shiplane-Promotion: prm-1\nShiplane-Release: rel-{'ab' * 10}\nShiplane-Actor: alice\n\n"
    )
    assert git("show", f"main:{path}", cwd=bare).encode() == pin_bytes("checkout")
    assert git("log", "-1", "--format=%an <%ae>", "main", cwd=bare).strip() == (
        "Shiplane <shiplane@localhost>"
    )


def test_unchanged_content_makes_no_commit(bare_repo: BareRepoFactory, tmp_path: Path) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    path = pin_path("qa", "web")

    async def scenario() -> None:
        first = await ws.commit_and_push({path: pin_bytes("web")}, **promotion("prm-a", "web"))
        same = await ws.commit_and_push({path: pin_bytes("web")}, **promotion("prm-b", "web"))
        assert first.created and not same.created
        assert same.sha == first.sha

    asyncio.run(scenario())
    assert git("rev-list", "--count", "main", cwd=bare).strip() == "2"


RESETS = Counter({"checkout": 1, "reset": 1, "clean": 1})


def test_a_working_copy_at_origin_is_not_reset_and_a_commit_may_skip_the_fetch(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")

    async def scenario() -> None:
        head = await ws.sync()
        before = gitcmd.STARTED.copy()
        assert await ws.sync() == head
        synced = gitcmd.STARTED - before
        # No checkout, reset or clean, and the refs are read from their files.
        assert synced == Counter({"fetch": 1})

        before = gitcmd.STARTED.copy()
        result = await ws.commit_and_push(
            {pin_path("qa", "web"): pin_bytes("web")}, **promotion("prm-1", "web"), fetch=False
        )
        await ws.settle()  # the pushed commit's export ahead, in the background
        committed = gitcmd.STARTED - before
        assert result.created and result.parent == head
        # One process per thing only git can do: the trailer search, stage, commit, push;
        # then, off the hot path, the export of the new head for the next deploy.
        assert committed == Counter(
            {"log": 1, "add": 1, "commit": 1, "push": 1, "read-tree": 1, "checkout-index": 1}
        )
        # The push left the working copy at origin: the next sync resets nothing either.
        before = gitcmd.STARTED.copy()
        assert await ws.sync() == result.sha
        assert not (gitcmd.STARTED - before) & RESETS

    asyncio.run(scenario())


def test_a_tracked_pin_is_committed_by_one_process_and_a_new_group_skips_the_lookup(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    path = pin_path("qa", "web")

    async def scenario() -> None:
        await ws.commit_and_push({path: pin_bytes("web")}, **promotion("prm-1", "web"))
        await ws.settle()
        before = gitcmd.STARTED.copy()
        result = await ws.commit_and_push(
            {path: pin_bytes("web", "2.0.0")},
            **promotion("prm-2", "web"),
            fetch=False,
            may_exist=False,
        )
        await ws.settle()
        # The file was tracked: `commit --only` stages it; the caller said no commit of
        # prm-2 can exist yet: no history lookup.
        assert gitcmd.STARTED - before == Counter(
            {"commit": 1, "push": 1, "read-tree": 1, "checkout-index": 1}
        )
        assert result.created
        # Said wrongly, the idempotency still holds on a rejected push's retry; said
        # rightly (the default), an existing commit is found.
        again = await ws.commit_and_push({path: pin_bytes("web", "2.0.0")}, **promotion("prm-2"))
        assert (again.sha, again.created) == (result.sha, False)

    asyncio.run(scenario())
    assert git("show", f"main:{path}", cwd=bare).encode() == pin_bytes("web", "2.0.0")
    assert trailer_count(bare, "Shiplane-Promotion", "prm-2") == 1
    # Only the named file went into the commit.
    changed = git("show", "--name-only", "--format=", "main", cwd=bare).split()
    assert changed == [path]


def test_a_sync_ahead_serves_the_next_deploy_sync_once_and_only_while_fresh(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    other = GitWorkspace(str(bare), tmp_path / "other")

    async def scenario() -> None:
        await ws.sync()
        before = gitcmd.STARTED.copy()
        ws.sync_ahead()
        ws.sync_ahead()  # one at a time
        head = await ws.sync(ahead_within=60)
        assert head == git("rev-parse", "main", cwd=bare).strip()
        assert (gitcmd.STARTED - before)["fetch"] == 1  # the ahead one, not a second
        # Used once: the next sync fetches (and sees what was pushed meanwhile).
        moved = await other.commit_and_push(
            {pin_path("qa", "api"): pin_bytes("api")}, **promotion("prm-9", "api")
        )
        assert await ws.sync(ahead_within=60) == moved.sha
        # Too old: fetched again.
        ws.sync_ahead()
        await ws.settle()
        await asyncio.sleep(0.05)
        moved = await other.commit_and_push(
            {pin_path("qa", "db"): pin_bytes("db")}, **promotion("prm-8", "db")
        )
        assert await ws.sync(ahead_within=0.01) == moved.sha
        # A push from here makes the ahead result stale: not used.
        ws.sync_ahead()
        await ws.commit_and_push(
            {pin_path("qa", "web"): pin_bytes("web")}, **promotion("prm-7", "web")
        )
        assert await ws.sync(ahead_within=60) == git("rev-parse", "main", cwd=bare).strip()

    asyncio.run(scenario())


def test_a_write_that_died_half_way_is_undone_by_the_next_call(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")

    async def scenario() -> None:
        head = await ws.sync()
        # What a process killed inside commit_and_push leaves: a staged stray file, an
        # untracked one, and the marker; HEAD still equals origin.
        (ws.repo_dir / "stray.yaml").write_text("half written\n")
        git("add", "stray.yaml", cwd=ws.repo_dir)
        (ws.repo_dir / "untracked.tmp").write_text("x")
        (ws.repo_dir / ".git" / "shiplane-writing").touch()
        result = await ws.commit_and_push(
            {pin_path("qa", "web"): pin_bytes("web")}, **promotion("prm-2", "web"), fetch=False
        )
        assert result.created and result.parent == head
        assert not (ws.repo_dir / "untracked.tmp").exists()
        assert not (ws.repo_dir / ".git" / "shiplane-writing").exists()

    asyncio.run(scenario())
    tree = git("ls-tree", "-r", "--name-only", "main", cwd=bare)
    assert "stray.yaml" not in tree and pin_path("qa", "web") in tree


def test_read_tree_of_an_exported_full_sha_runs_no_git(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")

    async def scenario() -> None:
        head = await ws.sync()
        first = await ws.read_tree(head)
        before = gitcmd.STARTED.copy()
        assert await ws.read_tree(head) == first
        assert before == gitcmd.STARTED

    asyncio.run(scenario())


def test_none_deletes_and_history_is_kept(bare_repo: BareRepoFactory, tmp_path: Path) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    path = pin_path("qa", "web")

    async def scenario() -> None:
        await ws.commit_and_push({path: pin_bytes("web")}, **promotion("prm-1", "web", "qa"))
        gone = await ws.commit_and_push({path: None}, message="remove web", trailers={})
        assert gone.created
        # Deleting what is not there changes nothing.
        noop = await ws.commit_and_push({path: None}, message="remove web", trailers={})
        assert not noop.created and noop.sha == gone.sha
        history = await ws.log(path, limit=10)
        assert [c.subject for c in history] == [
            "remove web",
            "promote web 1.0.0 (rel-ababab) to qa",
        ]
        assert history[1].trailer("shiplane-promotion") == "prm-1"
        assert history[0].trailers == ()

    asyncio.run(scenario())
    tree = git("ls-tree", "-r", "--name-only", "main", cwd=bare)
    assert path not in tree


def install_race_hook(bare: Path, inject_ref: str) -> Path:
    """A pre-receive hook that, once, moves main to `inject_ref` while a push is being
    received: exactly what another writer pushing in between looks like."""
    marker = bare / "race-once"
    marker.write_text("")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "cat >/dev/null\n"
        # Objects of `inject_ref` are already in the repository, so the ref may move
        # outside the push's quarantine.
        f"if [ -f '{marker}' ]; then rm -f '{marker}'; unset GIT_QUARANTINE_PATH; "
        f"git update-ref refs/heads/main refs/heads/{inject_ref}; fi\n"
        "exit 0\n"
    )
    hook.chmod(0o755)
    return marker


def commit_on_branch(bare: Path, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    """Someone else's commit on top of main, published on `branch` of the bare repo."""
    clone = tmp_path / f"someone-{branch}"
    git("clone", "--quiet", str(bare), str(clone), cwd=tmp_path)
    for rel, text in files.items():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_text(text)
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", f"hand edit on {branch}", cwd=clone)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone).strip()


def test_rejected_push_is_rebased_and_retried(bare_repo: BareRepoFactory, tmp_path: Path) -> None:
    bare = bare_repo()
    theirs = commit_on_branch(bare, tmp_path, "theirs", {"envs/qa/web/patch.yaml": "x: 1\n"})
    install_race_hook(bare, "theirs")
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    result = asyncio.run(
        ws.commit_and_push({pin_path("qa", "api"): pin_bytes("api")}, **promotion("prm-r", "api"))
    )
    assert result.created and result.attempts == 2
    # Linear history: our commit sits on top of theirs, nothing lost.
    assert git("rev-parse", "main~1", cwd=bare).strip() == theirs
    assert result.sha == git("rev-parse", "main", cwd=bare).strip()
    assert trailer_count(bare, "Shiplane-Promotion", "prm-r") == 1


def test_retries_are_bounded(bare_repo: BareRepoFactory, tmp_path: Path) -> None:
    from shiplane.gitops import GitError

    bare = bare_repo()
    theirs = commit_on_branch(bare, tmp_path, "theirs", {"envs/qa/web/patch.yaml": "x: 1\n"})
    install_race_hook(bare, "theirs")
    ws = GitWorkspace(str(bare), tmp_path / "cache", max_attempts=1)
    with pytest.raises(GitError, match="rejected 1 times"):
        asyncio.run(ws.commit_and_push({pin_path("qa", "api"): b"x\n"}, **promotion("prm-b")))
    assert git("rev-parse", "HEAD", cwd=ws.repo_dir).strip() == theirs
    assert git("status", "--porcelain", cwd=ws.repo_dir) == ""


def test_rebase_conflict_raises_and_leaves_working_copy_clean(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    from shiplane.gitops import GitConflictError

    bare = bare_repo()
    path = pin_path("prod", "checkout")
    theirs = commit_on_branch(bare, tmp_path, "theirs", {path: "someone: else\n"})
    install_race_hook(bare, "theirs")
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    before = git("rev-parse", "main", cwd=bare).strip()

    with pytest.raises(GitConflictError) as info:
        asyncio.run(ws.commit_and_push({path: pin_bytes("checkout")}, **promotion("prm-c")))
    assert info.value.files == (path,)
    assert path in str(info.value) and "nothing was pushed" in str(info.value)
    # The remote has their commit only; ours never landed.
    assert git("rev-parse", "main", cwd=bare).strip() == theirs != before
    assert trailer_count(bare, "Shiplane-Promotion", "prm-c") == 0
    # The working copy equals origin/main, with no rebase in progress and nothing dirty.
    repo = ws.repo_dir
    assert git("status", "--porcelain", "--untracked-files=all", cwd=repo) == ""
    assert git("rev-parse", "HEAD", cwd=repo).strip() == theirs
    assert not (repo / ".git" / "rebase-merge").exists()
    assert not (repo / ".git" / "rebase-apply").exists()


def test_read_tree_and_export_give_exact_files(bare_repo: BareRepoFactory, tmp_path: Path) -> None:
    files = {
        ".gitattributes": "secret.txt export-ignore\n",  # git archive would drop it
        "secret.txt": "kept\n",
        "apps/web/deployment.yaml": "kind: Deployment\n",
        "apps/web/link.yaml": "",
    }
    bare = bare_repo(files)
    # A symlink leaving the tree must not survive an export; one inside it may.
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(seed), cwd=tmp_path)
    (seed / "apps/web/link.yaml").unlink()
    (seed / "apps/web/link.yaml").symlink_to("deployment.yaml")
    (seed / "escape").symlink_to("/etc/hostname")
    git("add", "--all", cwd=seed)
    git("commit", "--quiet", "-m", "links", cwd=seed)
    git("push", "--quiet", "origin", "main", cwd=seed)
    ws = GitWorkspace(str(bare), tmp_path / "cache")

    async def scenario() -> tuple[Path, Path, str, str]:
        head = await ws.sync()
        first = git("rev-parse", "main~1", cwd=bare).strip()
        tree = await ws.read_tree(head)
        again = await ws.read_tree(head[:12])
        assert again == tree
        old = tmp_path / "old"
        await ws.export(first, old)
        return tree, old, head, first

    tree, old, head, _ = asyncio.run(scenario())
    assert tree.name == head
    assert (tree / "secret.txt").read_text() == "kept\n"
    assert (tree / "apps/web/link.yaml").read_text() == "kind: Deployment\n"
    assert not (tree / "escape").exists() and not (tree / "escape").is_symlink()
    assert not (tree / ".git").exists()
    assert sorted(p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()) == sorted(
        files
    )
    assert ws.prune_trees(keep=0) == []  # just used: a render may still read it
    assert ws.prune_trees(keep=0, idle=0) == [head]


def test_read_tree_fetches_a_commit_pushed_by_someone_else(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    asyncio.run(ws.sync())
    sha = commit_on_branch(bare, tmp_path, "main", {"apps/new/x.yaml": "a: 1\n"})
    tree = asyncio.run(ws.read_tree(sha))
    assert (tree / "apps/new/x.yaml").read_text() == "a: 1\n"


def test_a_silent_remote_hits_the_deadline(tmp_path: Path) -> None:
    """A server that accepts the connection and never answers: the command is killed at
    its deadline and the error says so."""
    import socket

    from shiplane.gitops import GitError

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        ws = GitWorkspace(f"git://127.0.0.1:{port}/repo.git", tmp_path / "cache", timeout=1.5)
        with pytest.raises(GitError, match="timed out after 2s"):
            asyncio.run(ws.sync())
    assert not ws.repo_dir.exists()


def test_unknown_schemes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        GitWorkspace("ext::sh -c touch% /tmp/pwned", tmp_path)
    with pytest.raises(ValueError, match="unsupported git remote scheme"):
        GitWorkspace("ftp://example/repo.git", tmp_path)


def test_exported_trees_are_pruned_by_themselves(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    """Every commit a deploy makes is exported; the cache must not grow without end."""
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache", trees_kept=2, tree_idle=0)

    async def scenario() -> list[str]:
        for n in range(8):  # the 8th export prunes
            result = await ws.commit_and_push(
                {pin_path("qa", "web"): pin_bytes("web", f"1.0.{n}")},
                **promotion(f"prm-{n}", "web"),
            )
            await ws.read_tree(result.sha)
        await asyncio.wait_for(ws.settle(), 30)  # the 8th export starts a prune
        return sorted(p.name for p in ws.trees_dir.iterdir())

    left = asyncio.run(scenario())
    assert len(left) == 2
    assert git("rev-parse", "main", cwd=bare).strip() in left  # the newest stays


def test_a_pushed_commit_is_exported_ahead_and_housekeeping_runs_now_and_then(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    """The commit a deploy pushes is the next deploy's likely head: its tree is exported
    in the background, so reading it later runs no git. git's own housekeeping, which no
    command starts by itself (a process per commit), runs every few commits instead."""
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache", maintain_every=2)

    async def others() -> None:
        await asyncio.wait_for(ws.settle(), 30)

    async def scenario() -> tuple[Counter[str], Counter[str], str]:
        before = gitcmd.STARTED.copy()
        first = await ws.commit_and_push(
            {pin_path("qa", "web"): pin_bytes("web", "1.0.0")}, **promotion("prm-1", "web")
        )
        await others()
        reading = gitcmd.STARTED.copy()
        tree = await ws.read_tree(first.sha)
        assert (tree / pin_path("qa", "web")).read_bytes() == pin_bytes("web", "1.0.0")
        read_cost = gitcmd.STARTED - reading
        await ws.commit_and_push(
            {pin_path("qa", "web"): pin_bytes("web", "1.0.1")}, **promotion("prm-2", "web")
        )
        await others()
        return read_cost, gitcmd.STARTED - before, first.sha

    read_cost, spent, _ = asyncio.run(scenario())
    assert read_cost == Counter()  # exported ahead, in the background
    assert spent["maintenance"] == 1  # after the 2nd commit, once
