"""Forge reviews as approvals (`approvals.fromForge`, docs/forges.md): do the approving
reviews of a promotion's pull request satisfy the environment's approval policy?

Pull-request mode only, judged when the pull request is merged (and again at every look
while a promotion merged with too few is held). A reviewer is identified by their forge
user name, which is the SSO user name when the forge is the identity provider, so
separation of duties holds across both: the requester of the promotion and the creator
of the release do not count unless `allowRequester` / `allowCreator`. A forge review
carries no groups: only the named `users` count when some are named; with nobody named,
whoever the forge lets approve counts (its branch protection decides).

A merge the forge allowed with too few approving reviews is held, not synced; the
missing approvals can then still come as reviews (where the forge takes reviews of a
merged pull request: GitHub does, Gitea and Forgejo refuse them) or as Shiplane
approvals (`shiplane approve`) by eligible people, recorded during the hold.

    fromForge: none   reviews are recorded, never required (the default)
               count  `required` approving reviews replace Shiplane's approval gate
               also   Shiplane's approval gate passed before the pull request opened,
                      and `required` approving reviews are needed as well

No I/O: the engine asks the forge for the reviews and gives them here.
"""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.config.models import ApprovalPolicy
from shiplane.gates.results import GateResult, Outcome

GATE = "forgeApproval"
"""The name the verdict is recorded under (`data.pull_request.approval`, explain)."""


def forge_approvals_required(policy: ApprovalPolicy | None) -> bool:
    """Whether the environment's approvals need reviews on the forge."""
    return policy is not None and policy.from_forge != "none"


def shiplane_gate_replaced(policy: ApprovalPolicy | None) -> bool:
    """Whether Shiplane's approval gate gives way to the forge's reviews (`count`)."""
    return policy is not None and policy.from_forge == "count"


def _why_not(policy: ApprovalPolicy, user: str, requester: str, creator: str | None) -> str:
    if policy.users and user not in policy.users:
        return f"{user} is not one of the users {', '.join(policy.users)}"
    if user == requester and not policy.allow_requester:
        return f"{user} requested the promotion"
    if creator is not None and user == creator and not policy.allow_creator:
        return f"{user} created the release"
    return ""


def judge_forge_reviews(
    policy: ApprovalPolicy,
    *,
    number: int,
    requester: str,
    creator: str | None,
    reviewers: Sequence[str],
    held_approvers: Sequence[str] = (),
) -> GateResult:
    """Pass when at least `policy.required` eligible people approved pull request
    `number` on the forge (`reviewers`: whose latest review approves) or, while a merge
    with too few is held, in Shiplane (`held_approvers`: approvals recorded during the
    hold, whose eligibility `check_approver` judged); else wait, saying who is missing
    and who did not count."""
    counted: list[str] = []
    refused: list[dict[str, str]] = []
    for user in sorted(set(reviewers)):
        why = _why_not(policy, user, requester, creator)
        if why:
            refused.append({"user": user, "why_not": why})
        else:
            counted.append(user)
    counted += sorted(set(held_approvers) - set(counted))
    inputs = {
        "from_forge": policy.from_forge,
        "pull_request": number,
        "required": policy.required,
        "reviewers": list(reviewers),
        "held_approvers": list(held_approvers),
        "counted": counted,
        "not_counted": refused,
        "requester": requester,
    }
    if len(counted) >= policy.required:
        return GateResult(
            GATE,
            Outcome.PASS,
            f"approved on the forge by {', '.join(counted)} "
            f"({len(counted)} of {policy.required} required)",
            inputs,
        )
    missing = policy.required - len(counted)
    who = f"users {' or '.join(policy.users)}" if policy.users else "a reviewer"
    reason = (
        f"pull request #{number} has {len(counted)} of {policy.required} required approving "
        f"reviews (fromForge: {policy.from_forge})"
    )
    if refused:
        reason += "; not counted: " + "; ".join(r["why_not"] for r in refused)
    more = f"{missing} more approval{'s' if missing != 1 else ''}"
    return GateResult(
        GATE,
        Outcome.WAIT,
        reason,
        inputs,
        unblock_hint=(
            f"{more} from {who} other than {requester}: an approving review of pull request "
            f"#{number} on the forge (where it still takes reviews), or `shiplane approve` "
            "while the merge is held; or abort the promotion (and revert the merge commit)"
        ),
    )
