"""What a promotion would meet and change, asked before promoting, through the CLI and the
API against `shiplane serve --repo` on a real local cluster and git repository: `promote
--dry-run` (gates + diff against live, nothing created), `release diff`, `release
timeline`, `approvals`."""

from __future__ import annotations

import pytest

from tests.e2e.deploy.conftest import as_json, cli
from tests.support.serverproc import ServerProcess

pytestmark = pytest.mark.cluster
WEB = "registry.example/shop/web"


def test_dry_run_release_diff_and_timeline(served: tuple[ServerProcess, dict[str, str]]) -> None:
    server, _namespaces = served
    one = as_json(
        cli(server, "release", "create", f"web={WEB}:1.0.0", "--alias", "one", "-o", "json")
    )
    as_json(cli(server, "release", "create", f"web={WEB}:2.0.0", "--alias", "two", "-o", "json"))

    # Into dev, where nothing runs yet: no gate holds it, every object would be created.
    first = as_json(cli(server, "promote", "one", "--to", "dev", "--dry-run", "-o", "json"))
    assert first["refusal"] is None and first["decision"] == "pass"
    assert (
        first["text"] == "All gates pass; it deploys on the next reconcile.\nPassed: freeze, hold."
    )
    assert [a["app"] for a in first["diff"]] == ["web"]
    assert {o["change"] for o in first["diff"][0]["objects"]} == {"create"}
    assert first["changed"] is True
    assert as_json(cli(server, "promotion", "list", "-o", "json"))["items"] == []

    # Into prod (after dev): the upstream gate would hold it, in explain's words.
    prod = cli(server, "promote", "one", "--to", "prod", "--dry-run", "--no-diff")
    assert prod.returncode == 0, prod.stderr
    assert "Dry run: release " + one["id"] in prod.stdout
    assert "Waiting on 1 of 3 gates:" in prod.stdout
    assert "  - upstream: " in prod.stdout and "dev" in prod.stdout
    assert "Nothing was created." in prod.stdout

    promoted = cli(server, "promote", "one", "--to", "dev", "--wait", "--timeout", "240")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr

    # Now dev runs `one`: promoting it again changes nothing, `two` changes the image.
    again = as_json(cli(server, "promote", "one", "--to", "dev", "--dry-run", "-o", "json"))
    assert {o["change"] for o in again["diff"][0]["objects"]} == {"unchanged"}
    assert again["changed"] is False
    newer = cli(server, "promote", "two", "--to", "dev", "--dry-run")
    assert newer.returncode == 0, newer.stderr
    assert "== web: 1 of 3 objects would change" in newer.stdout
    assert "# update Deployment/" in newer.stdout, newer.stdout
    added = [line for line in newer.stdout.splitlines() if line.startswith("+")]
    assert any(line.endswith(f"image: {WEB}:2.0.0") for line in added), newer.stdout
    with server.admin() as http:
        api = http.get("/api/v1/releases/two/preview", params={"environment": "dev"})
    assert api.status_code == 200, api.text
    assert (
        api.json()["diff"][0]["diff"]
        == as_json(cli(server, "promote", "two", "--to", "dev", "--dry-run", "-o", "json"))["diff"][
            0
        ]["diff"]
    )
    # A typo is the same error as for a real promotion.
    typo = cli(server, "promote", "one", "--to", "dve", "--dry-run")
    assert typo.returncode == 1 and "did you mean 'dev'?" in typo.stderr

    # The two releases: the artifact and the rendered Deployment differ, the rest not.
    between = as_json(cli(server, "release", "diff", "one", "two", "--env", "dev", "-o", "json"))
    assert [(a["app"], a["change"]) for a in between["artifacts"]] == [("web", "changed")]
    web = {o["object"]: o for o in between["manifests"]["web"]}
    assert web["Deployment/web"]["change"] == "differs"
    removed = [line for line in web["Deployment/web"]["diff"].splitlines() if line[:1] == "-"]
    assert any(line.endswith(f"image: {WEB}:1.0.0") for line in removed), removed
    assert web["Service/web"]["change"] == web["ConfigMap/web-config"]["change"] == "same"
    text = cli(server, "release", "diff", "one", "two")
    assert text.returncode == 0 and "web: changed" in text.stdout

    # Its timeline: created, then through the states to Succeeded in dev, where it runs.
    timeline = as_json(cli(server, "release", "timeline", "one", "-o", "json"))
    assert [(d["environment"], d["app"]) for d in timeline["running"]] == [("dev", "web")]
    states = [m["state"] for m in timeline["promotions"][0]["moments"]]
    assert states[0] == "Created" and states[-1] == "Succeeded" and "Deploying" in states
    shown = cli(server, "release", "timeline", "one")
    assert "runs in: dev/web" in shown.stdout and "Succeeded" in shown.stdout

    # No environment here needs approvals: nothing waits for anyone.
    inbox = cli(server, "approvals")
    assert (
        inbox.returncode == 0 and "nothing waits for your approval" in inbox.stdout + inbox.stderr
    )
