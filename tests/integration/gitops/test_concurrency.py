"""Twenty concurrent writers to one repository: every commit lands exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shiplane.gitops import GitWorkspace, Pin, PinImage, dump_pin, pin_path
from shiplane.gitops.pins import promotion_message, promotion_trailers
from tests.integration.gitops.conftest import BareRepoFactory, git, remote_url, trailer_count

WRITERS = 20
ENVS = ("dev", "qa", "staging", "prod")


def change(i: int) -> tuple[str, bytes, str, dict[str, str]]:
    env, app = ENVS[i % len(ENVS)], f"app{i:02d}"
    release = f"rel-{i:020x}"
    repo = f"registry.example/shop/{app}"
    pin = Pin(
        app=app,
        release=release,
        alias=f"1.0.{i}",
        images=(PinImage(repository=repo, ref=f"{repo}:1.0.{i}"),),
    )
    message = promotion_message(app, f"1.0.{i}", release, env)
    trailers = dict(promotion_trailers(f"prm-{i:02d}", release, f"worker-{i}"))
    return pin_path(env, app), dump_pin(pin), message, trailers


def test_twenty_concurrent_writers(
    bare_repo: BareRepoFactory, git_daemon: int, tmp_path: Path
) -> None:
    bare = bare_repo()
    url = remote_url("git", bare, git_port=git_daemon)
    # Separate cache directories: twenty independent working copies, as twenty workers
    # (or replicas) would have.
    workspaces = [GitWorkspace(url, tmp_path / f"cache-{i}") for i in range(WRITERS)]
    changes = [change(i) for i in range(WRITERS)]

    async def write_all() -> list[tuple[bool, int]]:
        await asyncio.gather(*(ws.sync() for ws in workspaces))  # all start from one head
        results = await asyncio.gather(
            *(
                ws.commit_and_push({path: data}, message=message, trailers=trailers)
                for ws, (path, data, message, trailers) in zip(workspaces, changes, strict=True)
            )
        )
        return [(r.created, r.attempts) for r in results]

    outcomes = asyncio.run(write_all())
    assert all(created for created, _ in outcomes)
    # With everyone starting from the same head, most writers had to rebase at least once.
    assert sum(1 for _, attempts in outcomes if attempts > 1) >= 1

    for i in range(WRITERS):
        assert trailer_count(bare, "Shiplane-Promotion", f"prm-{i:02d}") == 1, f"prm-{i:02d}"
    assert git("rev-list", "--count", "main", cwd=bare).strip() == str(WRITERS + 1)
    assert git("rev-list", "--merges", "--count", "main", cwd=bare).strip() == "0"
    for path, data, _, _ in changes:
        assert git("show", f"main:{path}", cwd=bare).encode() == data

    # Re-running every write (say, after a crash) pushes nothing new.
    again = asyncio.run(
        _rerun(workspaces, changes),
    )
    assert again == [False] * WRITERS
    assert git("rev-list", "--count", "main", cwd=bare).strip() == str(WRITERS + 1)


async def _rerun(
    workspaces: list[GitWorkspace], changes: list[tuple[str, bytes, str, dict[str, str]]]
) -> list[bool]:
    results = await asyncio.gather(
        *(
            ws.commit_and_push({path: data}, message=message, trailers=trailers)
            for ws, (path, data, message, trailers) in zip(workspaces, changes, strict=True)
        )
    )
    return [r.created for r in results]
