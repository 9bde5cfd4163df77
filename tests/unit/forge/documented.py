"""Answers and payloads as the forges document them (trimmed to the fields the drivers
read, plus a few they must ignore).

GitHub: https://docs.github.com/en/rest/pulls/pulls (pull request object),
  .../rest/pulls/reviews, .../rest/commits/statuses (combined status),
  https://docs.github.com/en/webhooks/webhook-events-and-payloads (push, pull_request).
GitLab: https://docs.gitlab.com/api/merge_requests/ (merge request object),
  .../api/merge_request_approvals/, .../api/commits/ (statuses),
  https://docs.gitlab.com/user/project/integrations/webhook_events/ (push, merge request).
Gitea: the swagger of /api/v1 (PullRequest, PullReview, CombinedStatus) and its webhook
  payloads (modules/structs/hook.go); Gitea also runs for real in the integration tests.
"""

from __future__ import annotations

from typing import Any

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
MERGE_SHA = "e5bd3914e2e596debea16f433f57875b5b90bcd6"


def github_pull(
    number: int = 1347, *, state: str = "open", merged: bool = False, head: str = "promote-prod"
) -> dict[str, Any]:
    return {
        "url": f"https://api.github.com/repos/octocat/Hello-World/pulls/{number}",
        "id": 1,
        "html_url": f"https://github.com/octocat/Hello-World/pull/{number}",
        "number": number,
        "state": state,
        "locked": False,
        "title": "Promote web 1.4.2 to prod",
        "user": {"login": "shiplane-bot"},
        "body": "Please pull these awesome changes",
        "merged_at": "2011-01-26T19:01:12Z" if merged else None,
        "merge_commit_sha": MERGE_SHA,
        "head": {"label": f"octocat:{head}", "ref": head, "sha": SHA},
        "base": {"label": "octocat:main", "ref": "main", "sha": "0" * 40},
        "merged": merged,
        "draft": False,
    }


def gitlab_merge_request(iid: int = 1, *, state: str = "opened") -> dict[str, Any]:
    return {
        "id": 1,
        "iid": iid,
        "project_id": 3,
        "title": "Promote web 1.4.2 to prod",
        "description": "fixed login page css paddings",
        "state": state,
        "target_branch": "main",
        "source_branch": "promote-prod",
        "author": {"username": "shiplane-bot"},
        "sha": SHA,
        "merge_commit_sha": MERGE_SHA if state == "merged" else None,
        "squash_commit_sha": None,
        "web_url": f"http://gitlab.example.com/my-group/my-project/merge_requests/{iid}",
    }
