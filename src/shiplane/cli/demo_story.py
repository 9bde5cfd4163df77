"""The story `shiplane demo` plays against its server: CI's push arriving in dev, the
approval for prod, a canary in staging whose analysis waits for a metric, and a broken
release rolled back. Everything goes through the API, as people and CI would; the demo
only prints what happens (cmd_demo.py starts and stops what it runs on)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from shiplane.cli import demo_canary, demo_prometheus, demo_registry
from shiplane.cli.client import ApiClient, CliFailure, Credentials
from shiplane.cli.cmd_status import matrix_table
from shiplane.cli.demo_canary import FINISHED
from shiplane.cli.output import stdout_console
from shiplane.localcluster.registry import LocalRegistry

STEP_TIMEOUT = 240.0
GOOD_TAG = "1.0.0"  # CI pushes it to the local registry
CANARY_TAG = "1.0.1"  # ... and then this one, which reaches staging by a canary
# Never pushed: created through the API, it stays a tag (`releases.digests: prefer` marks
# it unresolved), and on local clusters an image tag ending in -fail fails its smoke test.
BROKEN_TAG = "1.1.0-fail"


def say(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {line}", flush=True)


def wait(
    check: Callable[[], Any],
    what: str,
    timeout: float = STEP_TIMEOUT,
    alive: Callable[[], bool] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if alive is not None and not alive():
            raise CliFailure(f"gave up waiting for {what}: the process exited")
        if time.monotonic() > deadline:
            raise CliFailure(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _promotion(api: ApiClient, environment: str, release: str) -> dict[str, Any] | None:
    page = api.get("/promotions", {"environment": environment, "release": release})
    items: list[dict[str, Any]] = page["items"]
    normal = [p for p in items if p["kind"] == "normal"]
    return normal[0] if normal else None


def _until(api: ApiClient, environment: str, release: str, states: set[str]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = _promotion(api, environment, release)
        if found and found["state"] not in states and found["state"] in FINISHED:
            raise CliFailure(
                f"the promotion into {environment} ended {found['state']}: {found['reason']}"
            )
        return found if found and found["state"] in states else None

    result: dict[str, Any] = wait(check, f"{environment} to reach {'/'.join(sorted(states))}")
    return result


def _status(api: ApiClient, title: str) -> None:
    print(f"\n== shiplane status: {title}", flush=True)
    stdout_console().print(matrix_table(api.get("/matrix")))


def _assembled(api: ApiClient, after: str | None = None) -> dict[str, Any] | None:
    """The newest release the demo's image source assembled, if any (other than `after`)."""
    items: list[dict[str, Any]] = api.get("/releases")["items"]
    creator = f"source/{demo_registry.SOURCE}"
    newest = next((r for r in items if r["creator"] == creator), None)
    return newest if newest and newest["id"] != after else None


def _push_and_arrive(
    admin: ApiClient, registry: LocalRegistry, tag: str, after: str | None = None
) -> dict[str, Any]:
    """CI pushes `tag`; the registry notifies Shiplane; the release arrives in dev. The
    demo only watches (as admin): CI makes no Shiplane API call."""
    repository = demo_registry.REPOSITORY
    say(
        f"CI pushes {registry.host}/{repository}:{tag} to the local registry "
        "(blobs and manifest, the registry's HTTP API) and makes no Shiplane API call"
    )
    started = time.monotonic()
    # Each push its own image (its config's creation time), hence its own digest.
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    digest = registry.push_image(repository, tag, created=created)
    pushed_at = time.monotonic()
    say(f"pushed in {pushed_at - started:.1f}s: {digest}")
    release: dict[str, Any] = wait(
        lambda: _assembled(admin, after), "the release of the pushed image"
    )
    took = time.monotonic() - pushed_at
    hooks = admin.get("/audit", {"action": "hook.received"})["items"]
    matched = next((e["details"]["matched"] for e in hooks if e["details"].get("matched")), "?")
    say(
        f"the registry notified Shiplane (POST /api/v1/hooks/{demo_registry.RECEIVER}, "
        f"matched sources {matched}); source {demo_registry.SOURCE} "
        f"found {tag} and assembled release {release['alias']} "
        f"within {took:.1f}s of the push"
    )
    for artifact in release["artifacts"]:
        print(f"    {artifact['app']} = {artifact['ref']}", flush=True)
    say("it auto-promotes to dev ...")
    _until(admin, "dev", release["id"], {"Succeeded"})
    arrived = time.monotonic() - pushed_at
    say(f"... release {release['alias']} arrived in dev {arrived:.1f}s after the push")
    return release


def _canary_in_staging(admin: ApiClient, release: dict[str, Any]) -> str:
    """The release auto-promotes to staging, where web moves by a canary whose analysis
    waits for Prometheus to see its weight; the demo prints each step as it ends."""
    environment, app = demo_prometheus.CANARY_ENV, demo_prometheus.CANARY_APP
    say(
        f"verified in dev, {release['alias']} auto-promotes to {environment}, where {app} "
        "moves by a canary: setWeight 25 -> analysis (Prometheus) -> setWeight 50 -> pause 5s"
    )
    promotion = wait(
        lambda: _promotion(admin, environment, release["id"]), f"the {environment} promotion"
    )
    ended = demo_canary.follow(
        admin,
        promotion["id"],
        say,
        timeout=STEP_TIMEOUT,
        after_first_step=lambda: _status(admin, f"{app} in {environment} at its first step"),
    )
    if ended["state"] != "Succeeded":
        raise CliFailure(f"the canary in {environment} ended {ended['state']}: {ended['reason']}")
    say(
        f"... the canary passed its steps; {app}'s stable Deployment runs {release['alias']} "
        f"and {app}-canary is gone"
    )
    _status(admin, f"{release['alias']} ({CANARY_TAG}) in dev and staging, by a canary there")
    return str(promotion["id"])


def run_story(url: str, admin_token: str, registry: LocalRegistry) -> tuple[dict[str, str], str]:
    """The story; the tokens it made and the id of the canary's promotion."""
    admin = ApiClient(Credentials(url, admin_token))
    tokens = {}
    # alice and bob are both release managers; alice requests, so only bob may approve.
    for name, role, groups in (
        ("ci", "promoter", []),
        ("alice", "approver", ["release-managers"]),
        ("bob", "approver", ["release-managers"]),
    ):
        created = admin.request(
            "POST", "/tokens", json={"role": role, "name": name, "groups": groups}
        )
        tokens[name] = created["token"]
    ci = ApiClient(Credentials(url, tokens["ci"]), timeout=60)
    alice = ApiClient(Credentials(url, tokens["alice"]), timeout=60)
    bob = ApiClient(Credentials(url, tokens["bob"]), timeout=60)

    good = _push_and_arrive(admin, registry, GOOD_TAG)
    say("verified in dev, it auto-promotes to staging, where its smoke test Job runs")
    _until(admin, "staging", good["id"], {"Succeeded"})
    _status(admin, f"{good['alias']} ({GOOD_TAG}) in dev and staging")

    say(
        f"alice asks for prod with {good['alias']}: "
        "it waits for 20s of soak in staging and an approval"
    )
    prod = alice.request(
        "POST",
        "/promotions",
        json={"release": good["id"], "environment": "prod", "reason": "weekly release"},
    )
    wait(
        lambda: admin.get(f"/promotions/{prod['id']}")["promotion"]["state"] == "Waiting",
        "the prod promotion to wait for its gates",
    )
    explain = admin.get(f"/promotions/{prod['id']}/explain")["text"]
    print(f"\n$ shiplane promotion explain {prod['id']}\n{explain}\n", flush=True)
    try:
        alice.request("POST", f"/promotions/{prod['id']}/approve")
    except CliFailure as refused:
        say(f"alice tries to approve her own request: refused ({refused})")
    say("bob (release-managers) approves")
    bob.request("POST", f"/promotions/{prod['id']}/approve", json={"comment": "looks good"})
    waiting = admin.get(f"/promotions/{prod['id']}")["promotion"]
    if waiting["state"] == "Waiting":  # the soak is not over yet: prod waits it out
        say(f"approved; prod still waits: {waiting['reason']}")
    _until(admin, "prod", good["id"], {"Succeeded"})
    _status(admin, f"{good['alias']} ({GOOD_TAG}) everywhere")

    newer = _push_and_arrive(admin, registry, CANARY_TAG, after=good["id"])
    canary_id = _canary_in_staging(admin, newer)

    broken = f"{registry.host}/{demo_registry.REPOSITORY}:{BROKEN_TAG}"
    say(
        f"CI creates release 1.1.0 the old way, through the API, with {broken}: a tag it "
        "never pushed, so it is recorded unresolved (no digest; releases.digests: prefer); "
        "its smoke test will fail"
    )
    bad = ci.request(
        "POST",
        "/releases",
        json={
            "artifacts": {"web": broken, "api": broken},
            "alias": "1.1.0",
            "labels": {"branch": "main"},
        },
    )
    if any(a.get("unresolved") for a in bad["artifacts"]):
        say("1.1.0's artifacts are marked unresolved (the release page and the CLI say so)")
    _until(admin, "dev", bad["id"], {"Succeeded"})
    say("1.1.0 is healthy in dev; in staging its smoke test fails ...")
    failed = _until(admin, "staging", bad["id"], {"RolledBack", "Failed"})
    say(f"... staging promotion {failed['id']}: {failed['state']} ({failed['reason']})")
    _status(admin, "1.1.0 rolled back in staging (held there until someone lifts the hold)")
    source = admin.get(f"/sources/{demo_registry.SOURCE}")
    print(
        f"\n$ shiplane source show {demo_registry.SOURCE}\n"
        f"{source['kind']} {source['watches']}: {'healthy' if source['healthy'] else 'unhealthy'}, "
        f"found {source['version']} {source['digest']}, next poll {source['next_poll_at']}, "
        f"last release {source['last_release']}\n",
        flush=True,
    )
    return tokens, canary_id
