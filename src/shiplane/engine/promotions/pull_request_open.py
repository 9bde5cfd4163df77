"""Pull-request mode, before the merge (engine/promotions/pull_request.py): render and
dry-run the release, push its pins to the promotion's branch, open (or find) the pull
request with its description; and make the branch again when the base moved.

A progressive strategy's `start` runs at the proposal (the deployer's inspect hook), so
a canary that does not fit refuses before any pull request opens; its starting state is
kept in `data.pull_request.strategy` until the merge (pull_request_merge.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shiplane.domain.promotion import Promotion, Step
from shiplane.domain.pull_request import (
    ArtifactChange,
    PullRequestPhase,
    PullRequestText,
    branch_name,
    describe_pull_request,
)
from shiplane.engine.deploy import DeployError
from shiplane.engine.faults import fault_point
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.deploy_failure import deploy_failed
from shiplane.engine.promotions.forge_outcome import promotion_link
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.pull_request_merge import merged_without_review
from shiplane.engine.promotions.pull_request_state import (
    driver,
    interval,
    later,
    pr_state,
    record_state,
)
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.strategy_start import progressive_apps, strategy_inspector
from shiplane.engine.promotions.transitions import get
from shiplane.forge import PullRequest
from shiplane.store import matrix, releases
from shiplane.store import promotions as store
from shiplane.store.promotions import PromotionRecord
from shiplane.store.records import ReleaseRecord


async def push_branch(
    rt: Runtime, p: Promotion, release: ReleaseRecord, fence: Fence | None
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Render, dry-run and push the pins to the promotion's branch (DeployError); the
    outcome, and each progressive app's strategy start."""
    inspect, started = (
        strategy_inspector(rt.project, p) if progressive_apps(rt.project, p) else (None, {})
    )
    outcome = await rt.deploy_promotion(
        p, release, fence, propose=branch_name(p.id), inspect=inspect
    )
    return outcome, started


async def propose(
    rt: Runtime, record: PromotionRecord, release: ReleaseRecord, fence: Fence | None
) -> PromotionRecord:
    p = record.domain()
    try:
        outcome, started = await push_branch(rt, p, release, fence)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence)
    proposal = getattr(outcome, "proposal", None)
    if proposal is None:
        # The base branch holds these pins already: nothing to review; sync its head.
        return await rt.fenced(
            fence, lambda s: merged_without_review(rt, s, p.id, str(outcome.git_commit), started)
        )
    manifests = dict(getattr(outcome, "manifests", None) or {})
    text = await rt.read(lambda s: describe(rt, s, p, release, manifests))
    async with driver(rt) as forge:
        pr = await forge.open_pull_request(proposal.branch, proposal.target, text.title, text.body)
    fault_point("pull_request.opened")
    state: dict[str, Any] = {
        "phase": PullRequestPhase.OPEN.value,
        "branch": proposal.branch,
        "number": pr.number,
        "url": pr.url,
        "base": proposal.base,
        "sha": proposal.sha,
    }
    if started:
        state["strategy"] = started
    reason = f"waiting for the merge of pull request #{pr.number} ({pr.url})"

    def write(s: Session) -> PromotionRecord:
        now = rt.now()
        store.add_step(
            s, p.id, Step("pull request", now, now, "succeeded", f"#{pr.number} {pr.url}")
        )
        return record_state(rt, s, p.id, state, reason, next_check_at=now + interval(rt, p))

    return await rt.fenced(fence, write)


def describe(
    rt: Runtime, s: Session, p: Promotion, release: ReleaseRecord, manifests: dict[str, str]
) -> PullRequestText:
    """The pull request's title and body (domain/pull_request.py), from the store."""
    cells = matrix.get_matrix(s, apps=list(p.apps), environments=[p.environment])
    running: dict[str, str | None] = {}
    running_releases: list[str] = []
    for cell in cells:
        old = releases.get_release(s, cell.release_id) if cell.release_id else None
        if old is not None:
            running_releases.append(old.alias or old.id)
        refs = {a.app: a.ref for a in old.artifacts} if old is not None else {}
        running[cell.app] = refs.get(cell.app)
    proposed = {a.app: a.ref for a in release.artifacts}
    current = get(s, p.id)
    return describe_pull_request(
        promotion_id=p.id,
        environment=p.environment,
        release_id=release.id,
        release_alias=release.alias,
        requested_by=p.requested_by,
        changes=[
            ArtifactChange(app, running.get(app), proposed[app])
            for app in p.apps
            if app in proposed
        ],
        gates=PromotionData.of(current).gates or [],
        running_releases=sorted(set(running_releases)),
        link=promotion_link(rt, p.id),
        manifests=manifests,
    )


async def rebase(
    rt: Runtime,
    record: PromotionRecord,
    release: ReleaseRecord,
    fence: Fence | None,
    pr: PullRequest,
) -> PromotionRecord:
    """The base moved under the open pull request: the pins again on the new head."""
    p = record.domain()
    try:
        outcome, started = await push_branch(rt, p, release, fence)
    except DeployError as exc:
        return await deploy_failed(rt, p, exc, fence, prefix=f"rebasing #{pr.number}: ")
    proposal = getattr(outcome, "proposal", None)
    state = pr_state(record)
    if proposal is None:  # someone put the same pins on the base: the PR has nothing left
        return await later(
            rt, record, fence, f"the base holds these pins; waiting for #{pr.number}"
        )
    state.update(base=proposal.base, sha=proposal.sha)
    if started:
        state["strategy"] = started
    why = (
        f"base moved: {proposal.branch} made again on {proposal.base[:12]}; "
        f"waiting for #{pr.number}"
    )

    def write(s: Session) -> PromotionRecord:
        now = rt.now()
        store.add_step(s, p.id, Step("rebase", now, now, "succeeded", why))
        return record_state(rt, s, p.id, state, why, next_check_at=now + interval(rt, p))

    return await rt.fenced(fence, write)
