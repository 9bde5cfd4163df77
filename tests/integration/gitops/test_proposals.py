"""`GitWorkspace.propose` (pull-request mode) against a real bare repository: the pins go
to a branch of their own, never to the base branch; a repeat keeps the branch; a base
that moved gets the commit made again on its new head; nothing to propose is None."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shiplane.gitops import GitWorkspace, pin_path
from tests.integration.gitops.conftest import BareRepoFactory, git
from tests.integration.gitops.test_workspace import pin_bytes, promotion


def test_propose_pushes_a_branch_keeps_it_and_makes_it_again_on_a_moved_base(
    bare_repo: BareRepoFactory, tmp_path: Path
) -> None:
    bare = bare_repo()
    ws = GitWorkspace(str(bare), tmp_path / "cache")
    other = GitWorkspace(str(bare), tmp_path / "other-cache")
    path = pin_path("prod", "web")
    base0 = git("rev-parse", "main", cwd=bare).strip()

    async def scenario() -> None:
        made = await ws.propose("shiplane/prm-1", {path: pin_bytes("web")}, **promotion("prm-1"))
        assert made is not None and made.created and made.base == base0
        assert made.target == "main" and made.branch == "shiplane/prm-1"
        assert git("rev-parse", "main", cwd=bare).strip() == base0  # the base is untouched
        assert git("rev-parse", "shiplane/prm-1", cwd=bare).strip() == made.sha
        assert git("rev-parse", f"{made.sha}^", cwd=bare).strip() == base0
        assert await ws.head() == base0  # the working copy went back to the base
        # A repeat (a resumed promotion) keeps the branch.
        again = await ws.propose("shiplane/prm-1", {path: pin_bytes("web")}, **promotion("prm-1"))
        assert again is not None and not again.created and again.sha == made.sha
        # Someone merged something else: the commit is made again on the new head.
        moved = await other.commit_and_push(
            {pin_path("dev", "api"): pin_bytes("api")}, **promotion("prm-2", "api", "dev")
        )
        rebased = await ws.propose("shiplane/prm-1", {path: pin_bytes("web")}, **promotion("prm-1"))
        assert rebased is not None and rebased.created and rebased.base == moved.sha
        assert git("rev-parse", f"{rebased.sha}^", cwd=bare).strip() == moved.sha
        assert git("rev-parse", "shiplane/prm-1", cwd=bare).strip() == rebased.sha
        # The base holds the pins already: nothing to propose.
        await other.commit_and_push({path: pin_bytes("web")}, **promotion("prm-3"))
        assert (
            await ws.propose("shiplane/prm-4", {path: pin_bytes("web")}, **promotion("prm-4"))
            is None
        )
        assert "shiplane/prm-4" not in git("branch", "--list", cwd=bare)

    asyncio.run(scenario())
