"""Pull-request promotions, the pure parts (docs/forges.md, "Pull-request mode"): the
branch a promotion proposes its pins on, the pull request's description, and what the
wait for the merge does next. No I/O.

The wait, as the engine keeps it in `data.pull_request.phase` while Deploying:

    (none) --propose + open--> open --merged--> merged --synced--> (Verifying)
                                 |           '--too few forge approvals--> held
                                 |--closed--> closed (Aborted: "closed without merge")
                                 |--base moved--> open (the branch made again on it)
                                 '--still open--> open (next look at next_check_at)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

BRANCH_PREFIX = "shiplane/"


def branch_name(promotion_id: str) -> str:
    """The branch promotion `promotion_id` proposes its pins on (one per promotion, so a
    resumed promotion finds its own branch and pull request again)."""
    return f"{BRANCH_PREFIX}{promotion_id}"


class PullRequestPhase(StrEnum):
    OPEN = "open"
    """Opened; waiting for someone to merge it."""
    MERGED = "merged"
    """Merged: the cluster is synced to the merge commit next."""
    HELD = "held"
    """Merged with fewer forge approvals than `approvals.fromForge` requires: not synced;
    the approvals are asked again at every look (docs/forges.md)."""
    CLOSED = "closed"
    """Closed on the forge without merge: the promotion was aborted."""


class WaitStep(StrEnum):
    SYNC = "sync"
    """Merged: sync the cluster to the merge commit."""
    ABORT = "abort"
    """Closed without merge: the promotion ends aborted."""
    REBASE = "rebase"
    """Still open but the base branch moved: make the branch again on the new head."""
    WAIT = "wait"
    """Still open on the current base: look again later."""


def next_wait_step(state: str, *, base_moved: bool) -> WaitStep:
    """What the wait does after looking at the pull request (`state`: open, merged or
    closed, as `forge.PullRequestState` names them)."""
    if state == "merged":
        return WaitStep.SYNC
    if state == "closed":
        return WaitStep.ABORT
    if state != "open":
        raise ValueError(f"unknown pull request state {state!r}")
    return WaitStep.REBASE if base_moved else WaitStep.WAIT


_REPORTED = {
    "Succeeded": "success",
    "Failed": "failure",
    "Aborted": "failure",
}


@dataclass(frozen=True)
class ForgeDuties:
    """What the forge must be told when a pull-request promotion enters a state."""

    status: str | None = None
    """The commit status for the merge commit (success, failure), None: none."""
    close: int | None = None
    """The number of the pull request to close (aborted while it was open)."""


def duties_after(before: str, state: str, pull_request: Mapping[str, Any] | None) -> ForgeDuties:
    """The forge duties of a promotion that moved from `before` into `state` (its
    `data.pull_request`): an outcome is reported on the merge commit when there is one
    (once: a failed rollback's Failed was reported when the promotion first failed); a
    promotion aborted while its pull request is open has it closed."""
    pr = pull_request or {}
    reported = _REPORTED.get(state) if before != "RollingBack" else None
    status = reported if reported is not None and pr.get("merge_commit") else None
    close = (
        int(pr["number"])
        if state == "Aborted" and pr.get("phase") == PullRequestPhase.OPEN and pr.get("number")
        else None
    )
    return ForgeDuties(status=status, close=close)


@dataclass(frozen=True)
class ArtifactChange:
    """One app's image: what the environment runs now (None: nothing yet) and what the
    promotion brings."""

    app: str
    running: str | None
    proposed: str

    @property
    def changed(self) -> bool:
        return self.running != self.proposed


@dataclass(frozen=True)
class PullRequestText:
    title: str
    body: str


def describe_pull_request(
    *,
    promotion_id: str,
    environment: str,
    release_id: str,
    release_alias: str | None,
    requested_by: str,
    changes: Sequence[ArtifactChange],
    gates: Sequence[Mapping[str, Any]],
    running_releases: Sequence[str] = (),
    link: str | None = None,
    manifests: Mapping[str, str] | None = None,
) -> PullRequestText:
    """The title and Markdown description of a promotion's pull request: the release,
    the artifact diff against what the environment runs, the manifest summary (per app,
    what the merge will apply), the gate results and a link to the promotion (`link`:
    None when the server's public URL is not known)."""
    label = f"{release_alias} ({release_id})" if release_alias else release_id
    apps = ", ".join(c.app for c in changes) or "-"
    title = f"Promote {apps} {release_alias or release_id} to {environment}"
    lines = [
        f"Shiplane promotion `{promotion_id}` of release **{_md(label)}** into "
        f"**{_md(environment)}**, requested by {_md(requested_by)}.",
        "",
        "Merging this pull request deploys it; closing it without merging aborts the promotion.",
        "",
        "### Artifacts",
        "",
        "| App | Running now | Proposed |",
        "| --- | --- | --- |",
    ]
    for c in changes:
        mark = "" if c.changed else " (unchanged)"
        lines.append(f"| {_md(c.app)} | {_cell(c.running)} | {_cell(c.proposed)}{mark} |")
    if running_releases:
        lines += ["", f"Running now: release {', '.join(_md(r) for r in running_releases)}."]
    if manifests:
        lines += ["", "### Manifests", ""]
        lines += [f"- {_md(app)}: {_md(text)}" for app, text in manifests.items()]
    lines += ["", "### Gates", ""]
    if gates:
        for gate in gates:
            outcome = str(gate.get("outcome", "?"))
            name = str(gate.get("gate") or "gate")
            reason = str(gate.get("reason", "") or "")
            lines.append(
                f"- {_md(name)}: **{_md(outcome)}**" + (f" ({_md(reason)})" if reason else "")
            )
    else:
        lines.append("- none configured")
    lines += ["", "### Promotion", ""]
    lines.append(
        f"[{promotion_id}]({link})"
        if link
        else f"`{promotion_id}` (`shiplane promotion explain {promotion_id}`)"
    )
    return PullRequestText(title=title[:250], body="\n".join(lines) + "\n")


def _cell(value: str | None) -> str:
    return f"`{value}`" if value else "-"


def _md(text: str) -> str:
    """`text` safe inside a Markdown table cell or emphasis (no pipes, no newlines)."""
    return text.replace("|", "\\|").replace("\n", " ").replace("*", "\\*")
