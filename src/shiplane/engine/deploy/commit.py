"""Step `commit`: the release's pins for the environment, one commit pushed to git.

Safe to repeat: a commit carrying the same `Shiplane-Promotion` trailer is found instead
of making a second one. The `git` step fetched moments ago, so the commit is made on that
head without fetching again (a branch that moved meanwhile is found by the push).

For an environment handed off to a GitOps agent (`deploy.via: flux`), the commit also
carries each app's rendered objects where the agent reads them (handoff.py).

When the commit's tree is the one the render step validated (HEAD plus these pins:
pushed without a rebase, or the pins were in git already), the next render keeps the
objects it has; otherwise `run.tree` becomes the committed tree, which it renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shiplane.engine.deploy.handoff import hydrate
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.faults import fault_point
from shiplane.gitops.errors import GitError
from shiplane.gitops.pins import dump_pin, pin_path, promotion_message, promotion_trailers
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store.records import ReleaseRecord


@dataclass(frozen=True)
class PinChange:
    """What a release's commit for an environment holds, wherever it is pushed (the
    branch itself: `commit`; a branch of its own: `propose`)."""

    files: dict[str, bytes | None]
    message: str
    trailers: Mapping[str, str]


def pin_change(run: DeployRun, release: ReleaseRecord, actor: str) -> PinChange:
    """The pins (and, for an environment handed off to an agent, the rendered objects it
    reads instead), the commit message and trailers; then the checks every push makes
    first: the fault point, and that this replica still holds its lease (a replica
    paused past its lease must not push)."""
    files: dict[str, bytes | None] = {
        pin_path(run.environment, p.app): dump_pin(p.pin) for p in run.plans if p.pin
    }
    if run.env.deploy.hands_off:
        files.update(hydrate(run))
    change = PinChange(
        files,
        promotion_message(run.apps, release.alias, release.id, run.environment),
        promotion_trailers(run.rec.group_id, release.id, actor),
    )
    fault_point("deploy.before_push")
    run.rec.assert_held()
    return change


class CommitStep:
    name = "commit"
    recorded = True

    def __init__(self, workspace: GitWorkspace, release: ReleaseRecord, actor: str) -> None:
        self.workspace = workspace
        self.release = release
        self.actor = actor

    async def run(self, run: DeployRun) -> StepReport:
        change = pin_change(run, self.release, self.actor)
        try:
            result = await self.workspace.commit_and_push(
                change.files,
                message=change.message,
                trailers=change.trailers,
                fetch=False,
                # A group that never ran before pushed nothing: no history lookup.
                may_exist=run.rec.ran_before is not False,
            )
        except GitError as exc:
            raise StepFailed(dict.fromkeys(run.apps, str(exc))) from None
        fault_point("rollback.after_push" if run.kind == "rollback" else "deploy.after_push")
        run.outcome.git_commit, run.outcome.commit_created = result.sha, result.created
        run.commit_is_validated_tree = result.sha == run.head or (
            result.created and result.parent == run.head
        )
        if not run.commit_is_validated_tree:
            run.tree = await self.workspace.read_tree(result.sha)
        run.head = result.sha
        what = "pushed" if result.created else "already in git"
        run.say(f"commit {result.sha[:12]} {what}")
        return StepReport(
            detail=f"{result.sha[:12]} {what}",
            audit={"commit": result.sha, "created": result.created},
        )
