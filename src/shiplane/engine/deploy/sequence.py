"""Which steps a run takes, in order (the sequences in deployer.py's docstring): a
deploy that commits, one that proposes a pull request, one that syncs to a merged pull
request, a sync, and what follows the last render (apply, prune, health; or the hand-off
to a GitOps agent). The steps without state of their own are made once and shared."""

from __future__ import annotations

from shiplane.domain.clock import Clock
from shiplane.engine.deploy.apply import ApplyStep
from shiplane.engine.deploy.commit import CommitStep
from shiplane.engine.deploy.dry_run import DryRunStep
from shiplane.engine.deploy.git_sync import GitSyncStep
from shiplane.engine.deploy.handoff import HandOffStep
from shiplane.engine.deploy.health import HealthStep
from shiplane.engine.deploy.propose import MergedStep, ProposeStep
from shiplane.engine.deploy.prune import PruneStep
from shiplane.engine.deploy.removal import RemoveStep
from shiplane.engine.deploy.render import RenderCommitStep, RenderStep
from shiplane.engine.deploy.run import Step
from shiplane.engine.deploy.strategy_check import Inspect, StrategyCheckStep
from shiplane.gitops.workspace import GitWorkspace
from shiplane.store.records import ReleaseRecord


class Sequences:
    """The step lists of the runs of one `Deployer`."""

    def __init__(self, workspace: GitWorkspace, health_timeout: float, clock: Clock) -> None:
        self.workspace = workspace
        self.health_timeout = health_timeout
        self.clock = clock
        self.git_sync = GitSyncStep(workspace)
        self.dry_run = DryRunStep()
        self.apply = ApplyStep()
        self.prune = PruneStep()

    def deploy(
        self,
        release: ReleaseRecord,
        actor: str,
        *,
        wait: bool,
        handoff: bool,
        to_cluster: bool,
        inspect: Inspect | None,
        propose: str | None,
        merged: str | None,
    ) -> list[Step]:
        """A deploy of `release` (see `Deployer.deploy` for the arguments)."""
        check = [StrategyCheckStep(inspect)] if inspect is not None else []
        if merged is not None:
            return [
                self.git_sync,
                MergedStep(self.workspace, merged),
                RenderStep(),
                self.dry_run,
                *self.to_cluster(wait, handoff=handoff),
            ]
        if propose is not None:
            return [
                self.git_sync,
                RenderStep(),
                self.dry_run,
                *check,
                ProposeStep(self.workspace, release, actor, propose),
            ]
        return [
            self.git_sync,
            RenderStep(),
            self.dry_run,
            *check,
            CommitStep(self.workspace, release, actor),
            *([RenderCommitStep(), *self.to_cluster(wait, handoff=handoff)] if to_cluster else []),
        ]

    def sync(
        self, remove: RemoveStep, *, applies: bool, refused: bool, hands_off: bool, wait: bool
    ) -> list[Step]:
        """A sync that `applies` plans (or only removes apps gone from git); a refused
        removal runs alone, changing nothing."""
        if hands_off:
            # The agent applies and prunes git's head itself: ask it, and wait.
            return [self.handoff(wait)] if applies else []
        if applies and not refused:
            return [RenderStep(), self.dry_run, *self.to_cluster(wait, remove)]
        return [remove]

    def to_cluster(
        self, wait: bool, remove: RemoveStep | None = None, *, handoff: bool = False
    ) -> list[Step]:
        """The steps after the last render: apply, prune, the removed apps (a sync of the
        whole environment), and (with `wait`) health; for an environment deployed by a
        GitOps agent (`deploy.via`), the hand-off to it instead."""
        if handoff:
            # A deploy always waits for the agent: until it applied the commit, the
            # cluster runs the old release, and verification would check that one (the
            # own sync's apply is synchronous likewise; `wait` is its health wait).
            return [self.handoff(True)]
        steps: list[Step] = [self.apply, self.prune, *([remove] if remove else [])]
        if wait:
            steps.append(HealthStep(self.health_timeout))
        return steps

    def handoff(self, wait: bool) -> HandOffStep:
        return HandOffStep(self.clock, self.workspace.contains, wait=wait)
