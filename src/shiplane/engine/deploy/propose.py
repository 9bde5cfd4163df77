"""Pull-request mode (docs/forges.md): the steps that stand in for `commit`.

`propose`  the release's pins, one commit on a branch of its own (`shiplane/<promotion
           id>`), made on the base branch's head and force-pushed when that head moved;
           the base branch is never pushed to (gitops/workspace.py, `propose`)
`merged`   after someone merged the pull request: the merge commit, whose tree the
           render reads and whose sha the deploy reports, so the cluster is synced to
           what the base branch holds

Both are safe to repeat, like every step (a kept branch is found again; a merge commit
is only read).
"""

from __future__ import annotations

from shiplane.engine.deploy.commit import pin_change
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.gitops.errors import GitError
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store.records import ReleaseRecord


class ProposeStep:
    name = "propose"
    recorded = True

    def __init__(
        self, workspace: GitWorkspace, release: ReleaseRecord, actor: str, branch: str
    ) -> None:
        self.workspace = workspace
        self.release = release
        self.actor = actor
        self.branch = branch

    async def run(self, run: DeployRun) -> StepReport:
        change = pin_change(run, self.release, self.actor)
        try:
            proposal = await self.workspace.propose(
                self.branch, change.files, message=change.message, trailers=change.trailers
            )
        except GitError as exc:
            raise StepFailed(dict.fromkeys(run.apps, str(exc))) from None
        if proposal is None:
            # The base branch holds these pins already: there is nothing to review, and
            # the deploy goes on from the head (the caller sees `proposal` None).
            run.outcome.git_commit = run.head
            run.say(f"pins already in {self.workspace.branch}; nothing to propose")
            return StepReport(detail="already in git", audit={"commit": run.head})
        run.outcome.git_commit, run.outcome.commit_created = proposal.sha, proposal.created
        run.outcome.proposal = proposal
        run.outcome.manifests = {p.app: manifest_summary(p) for p in run.plans}
        what = "pushed" if proposal.created else "already pushed"
        run.say(f"branch {proposal.branch} at {proposal.sha[:12]} {what}")
        return StepReport(
            detail=f"{proposal.branch} {proposal.sha[:12]} {what}",
            audit={"branch": proposal.branch, "commit": proposal.sha, "base": proposal.base},
        )


def manifest_summary(plan: AppPlan, shown: int = 12) -> str:
    """`Deployment/web, Service/web (2 objects, 1 new)`: the objects the app renders to,
    and how many the dry-run found missing from the cluster (new when applied)."""
    names = [
        f"{o.get('kind', '?')}/{(o.get('metadata') or {}).get('name', '?')}" for o in plan.objects
    ]
    versions = plan.live_versions or {}
    new = sum(1 for v in versions.values() if v is None) if plan.live_versions is not None else None
    more = f", +{len(names) - shown} more" if len(names) > shown else ""
    counted = f"{len(names)} object{'s' if len(names) != 1 else ''}"
    fresh = f", {new} new" if new else ""
    return f"{', '.join(names[:shown])}{more} ({counted}{fresh})"


class MergedStep:
    """Stand at the merge commit: the next render reads its tree."""

    name = "merged"
    recorded = True

    def __init__(self, workspace: GitWorkspace, commit: str) -> None:
        self.workspace = workspace
        self.commit = commit

    async def run(self, run: DeployRun) -> StepReport:
        try:
            run.tree = await self.workspace.read_tree(self.commit)
        except (GitError, ValueError) as exc:
            raise StepFailed(dict.fromkeys(run.apps, str(exc))) from None
        run.head = run.outcome.git_commit = self.commit
        run.say(f"merged as {self.commit[:12]}")
        return StepReport(detail=f"{self.commit[:12]}", audit={"commit": self.commit})
