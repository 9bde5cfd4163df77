"""Step `git` (not a row of the run): bring the working copy to the remote branch and
export HEAD's tree, which the first render reads."""

from __future__ import annotations

from pathlib import Path

from shiplane.engine.deploy.errors import DeployStepError
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.gitops.errors import GitError
from shiplane.gitops.workspace import GitWorkspace

AHEAD_WITHIN = 2.0
"""A sync started ahead (Deployer.prepare, at the promotion's request) serves a deploy
that starts within this many seconds; a later one fetches again."""


class GitSyncStep:
    name = "git"
    recorded = False  # changes nothing the run's steps should list

    def __init__(self, workspace: GitWorkspace) -> None:
        self.workspace = workspace

    async def run(self, run: DeployRun) -> StepReport:
        try:
            run.head = await self.workspace.sync(ahead_within=AHEAD_WITHIN)
            run.tree = await self.workspace.read_tree(run.head)
        except GitError as exc:
            raise StepFailed(dict.fromkeys(run.apps, str(exc))) from None
        return StepReport()


async def head_and_tree(workspace: GitWorkspace) -> tuple[str, Path]:
    """The remote branch's head and its exported tree, before a run is recorded (a git
    failure is the `git` step's)."""
    try:
        head = await workspace.sync()
        return head, await workspace.read_tree(head)
    except GitError as exc:
        raise DeployStepError("git", str(exc)) from None
